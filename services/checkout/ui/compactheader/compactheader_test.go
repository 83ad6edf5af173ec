package compactheader_test

import (
	"testing"

	"github.com/inlay-dev/inlay/services/checkout/ui/compactheader"
	"github.com/inlay-dev/inlay/services/checkout/ui/internal/uitest"
)

func TestCompactHeader(t *testing.T) {
	t.Parallel()
	r := uitest.Do(t, compactheader.Handler("/static/checkout/img/logo.abc.svg"), uitest.Request{})
	if r.StatusCode != 200 || r.Doc.Find("[data-boundary=checkout][data-testid=checkout-compact-header] img").AttrOr("src", "") != "/static/checkout/img/logo.abc.svg" {
		t.Errorf("%d %s", r.StatusCode, r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc == "" || cc == "no-store" {
		t.Errorf("Cache-Control %q: the header is public", cc)
	}
}
