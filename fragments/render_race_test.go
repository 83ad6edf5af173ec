package fragments_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
)

// TestRenderConcurrent serves fragments of different sizes from many goroutines at once: the pooled
// render buffers must never leak one response's bytes into another's, and each ETag must match its
// body. Run with -race.
func TestRenderConcurrent(t *testing.T) {
	t.Parallel()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/fragments/n/:n", func(c *fiber.Ctx) error {
		n, err := c.ParamsInt("n")
		if err != nil {
			return err
		}
		body := fmt.Sprintf("<p data-n=%q>", c.Params("n"))
		for range n {
			body += c.Params("n")
		}
		return fragments.Render(c, text(body+"</p>"), fragments.Public)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 10 * time.Second}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			for i := range 25 {
				n := 1 + (g*25+i)%200
				resp, err := client.Get(fmt.Sprintf("%s/fragments/n/%d", base, n))
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					errs <- err
					return
				}
				want := fmt.Sprintf("<p data-n=\"%d\">", n)
				for range n {
					want += fmt.Sprint(n)
				}
				want += "</p>"
				if string(body) != want {
					errs <- fmt.Errorf("n=%d: body %q", n, body)
					return
				}
				if etag := resp.Header.Get("ETag"); etag != fragments.ETag(body) {
					errs <- fmt.Errorf("n=%d: ETag %s does not match the body", n, etag)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
