package shell

import "testing"

func TestSrc(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Src("explore", "header"), "explore/header"},
		{Src("decide", "product", "id", "CL-01", "sku", "CL-01-GY"), "decide/product?id=CL-01&sku=CL-01-GY"},
		{Src("inspire", "recommendations", "skus", "CL-01-GY,AU-07-MT"), "inspire/recommendations?skus=CL-01-GY%2CAU-07-MT"},
		{Src("explore", "search", "q", "a b&c=d"), "explore/search?q=a+b%26c%3Dd"},
		{Src("decide", "product", "id", "", "sku", "x"), "decide/product?sku=x"},
		{Src("decide", "product", "odd"), "decide/product"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("Src = %q, want %q", tt.got, tt.want)
		}
	}
}
