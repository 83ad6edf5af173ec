package footer_test

import (
	"testing"

	"github.com/inlay-dev/inlay/services/explore/ui/footer"
	"github.com/inlay-dev/inlay/services/explore/ui/internal/uitest"
)

func TestFooter(t *testing.T) {
	t.Parallel()
	res, doc := uitest.Get(t, "/", footer.Handler(), "/")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if doc.Find(`footer[data-testid="explore-footer"][data-boundary="explore"]`).Length() != 1 {
		t.Error("no explore root")
	}
	if doc.Find(`a[href="/products"]`).Length() != 1 || doc.Find(`a[href="/stores"]`).Length() != 1 {
		t.Error("footer links missing")
	}
}
