package mobile

import (
	"context"
	"net/url"
)

// Recommendation is a variant inspire recommends.
type Recommendation struct {
	SKU         string `json:"sku"`
	ProductID   string `json:"productId"`
	ProductName string `json:"productName"`
	Name        string `json:"name"`
	Price       int64  `json:"price" doc:"In whole Ø."`
	Image       string `json:"image"`
}

// recommendations asks inspire for the variants it recommends with sku.
func (b *BFF) recommendations(ctx context.Context, rc *requestContext, sku string) ([]Recommendation, error) {
	var out inspireRecommendations
	if err := b.do(ctx, rc, call{team: teamInspire, path: "/v1/recommendations", query: url.Values{"sku": {sku}}}, &out); err != nil {
		return nil, err
	}
	recs := make([]Recommendation, 0, len(out.Recommendations))
	for _, r := range out.Recommendations {
		recs = append(recs, Recommendation(r))
	}
	return recs, nil
}
