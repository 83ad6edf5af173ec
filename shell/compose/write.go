// Writing a composed page: the head with the fragments' assets, the body in document order, async
// slots' content at the end, flushing before every wait.

package compose

import (
	"fmt"
	"html"
	"io"
	"strconv"
	"time"
)

// FlushWriter is where a composition streams to: Flush must push what was written to the client
// and fail when the client is gone.
type FlushWriter interface {
	io.Writer
	Flush() error
}

// SetTitle replaces the text of the page's <title> (its template's, the default) with title, HTML-
// escaped; "" keeps the default. Call it before WriteTo.
func (c *Composition) SetTitle(title string) { c.title = title }

// WriteTo streams the composed page to w: the head with the fragments' assets, flushed at once; the
// body in document order, flushing before each wait that outlasts the stream grace; async slots'
// content at the end. It stops at
// the first write or flush error (the client went away) and cancels the composition.
func (c *Composition) WriteTo(w FlushWriter) error {
	defer c.release()
	defer c.cancel()
	if c.req.Nonce != "" {
		c.nonceAttr = ` nonce="` + html.EscapeString(c.req.Nonce) + `"`
	}
	if err := c.writeParts(w, c.tmpl, c.slots, 0); err != nil {
		return err
	}
	return w.Flush()
}

func (c *Composition) writeParts(w FlushWriter, t *Template, slots []*slot, depth int) error {
	si := 0
	for i := range t.parts {
		p := &t.parts[i]
		switch p.kind {
		case partText:
			if _, err := w.Write(p.text); err != nil {
				return err
			}
		case partTitle:
			text := p.text
			if c.title != "" {
				text = []byte(html.EscapeString(c.title))
			}
			if _, err := w.Write(text); err != nil {
				return err
			}
		case partHeadEnd:
			c.writeHeadAssets(w)
			// The head goes out at once when a fragment is still on its way; when every one has
			// arrived, the whole page follows without waiting and one write carries both.
			if c.waiting(slots) {
				if err := w.Flush(); err != nil {
					return err
				}
			}
		case partBodyEnd:
			if err := c.writeAsync(w); err != nil {
				return err
			}
			if c.req.Debug && depth == 0 {
				// Every fragment has finished: the whole Server-Timing, for a client that did not
				// ask for trailers.
				io.WriteString(w, `<inlay-server-timing hidden data-value="`)
				io.WriteString(w, html.EscapeString(c.ServerTiming()))
				io.WriteString(w, `"></inlay-server-timing>`)
			}
		case partSlot:
			if si >= len(slots) {
				// Beyond the depth limit: the tag's own content.
				if _, err := w.Write(p.tag.Inline); err != nil {
					return err
				}
				continue
			}
			s := slots[si]
			si++
			if err := c.writeSlot(w, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// settle waits up to the stream grace (WaitReady's) for ch before the writer flushes and waits:
// fragments that arrive within it of each other leave in one write, not in a chunk (a system call)
// each. It reports whether ch delivered.
func settle[T any](c *Composition, ch <-chan T) (T, bool) {
	var zero T
	if c.grace <= 0 {
		return zero, false
	}
	if c.graceTimer == nil {
		c.graceTimer = time.NewTimer(c.grace)
	} else {
		c.graceTimer.Reset(c.grace)
	}
	select {
	case v := <-ch:
		c.graceTimer.Stop()
		return v, true
	case <-c.graceTimer.C:
		return zero, false
	case <-c.ctx.Done():
		c.graceTimer.Stop()
		return zero, false
	}
}

// waiting reports whether one of slots has not arrived yet.
func (c *Composition) waiting(slots []*slot) bool {
	for _, s := range slots {
		select {
		case <-s.done:
		default:
			return true
		}
	}
	return false
}

func (c *Composition) writeSlot(w FlushWriter, s *slot) error {
	if s.tag.WithPrimary && c.prim != nil && s != c.prim {
		<-c.prim.done // the primary decides (Outcome has waited for it already)
		if c.prim.status != 200 {
			return nil
		}
	}
	select {
	case <-s.done:
	default:
		if s.async {
			s.placeholder = true
			_, _ = io.WriteString(w, `<inlay-slot id="inlay-s-`)
			_, _ = io.WriteString(w, strconv.Itoa(s.id))
			_, _ = io.WriteString(w, `">`)
			if s.ref.frag.Fallback != "" {
				io.WriteString(w, s.ref.frag.Fallback)
			} else {
				_, _ = w.Write(s.tag.Inline)
			}
			_, err := io.WriteString(w, `</inlay-slot>`)
			return err
		}
		if _, ok := settle(c, s.done); !ok {
			if err := w.Flush(); err != nil {
				return err
			}
			select {
			case <-s.done:
			case <-c.ctx.Done():
				return c.ctx.Err()
			}
		}
	}
	return c.writeContent(w, s)
}

func (c *Composition) writeContent(w FlushWriter, s *slot) error {
	if s.depth > 0 {
		c.writeAssets(w, s.ref.css, s.ref.js)
	}
	if c.req.Debug {
		c.writeDebugOpen(w, s)
	}
	if s.tmpl != nil {
		if err := c.writeParts(w, s.tmpl, s.children, s.depth+1); err != nil {
			return err
		}
	} else if _, err := w.Write(s.body); err != nil {
		return err
	}
	if c.req.Debug {
		io.WriteString(w, "</inlay-debug>")
	}
	return nil
}

func (c *Composition) writeDebugOpen(w io.Writer, s *slot) {
	team, name := "?", s.tag.Src
	if s.ref.team != nil {
		team, name = s.ref.team.Name, s.ref.name
	}
	fmt.Fprintf(w, `<inlay-debug data-team="%s" data-fragment="%s" data-version="%s" data-source="%s" data-outcome="%s" data-ms="%.2f">`,
		html.EscapeString(team), html.EscapeString(name), html.EscapeString(s.version), s.source, s.outcome(),
		float64(s.dur.Microseconds())/1000)
}

// writeHeadAssets writes the page's stylesheets and scripts (deduplicated) and the composer script.
func (c *Composition) writeHeadAssets(w io.Writer) {
	c.writeAssets(w, c.e.opts.Stylesheets, nil)
	for _, s := range c.slots {
		c.writeAssets(w, s.ref.css, s.ref.js)
	}
	if c.nAsync > 0 && len(c.e.opts.ComposerScript) > 0 {
		io.WriteString(w, "<script")
		io.WriteString(w, c.nonceAttr)
		io.WriteString(w, ">")
		_, _ = w.Write(c.e.opts.ComposerScript)
		io.WriteString(w, "</script>")
	}
}

func (c *Composition) writeAssets(w io.Writer, css, js []string) {
	if len(css) == 0 && len(js) == 0 {
		return
	}
	if c.assetsSeen == nil {
		c.assetsSeen = map[string]struct{}{}
	}
	for _, h := range css {
		if _, ok := c.assetsSeen[h]; ok {
			continue
		}
		c.assetsSeen[h] = struct{}{}
		io.WriteString(w, `<link rel="stylesheet" href="`)
		io.WriteString(w, html.EscapeString(h))
		io.WriteString(w, `">`)
	}
	for _, h := range js {
		if _, ok := c.assetsSeen[h]; ok {
			continue
		}
		c.assetsSeen[h] = struct{}{}
		io.WriteString(w, `<script type="module" src="`)
		io.WriteString(w, html.EscapeString(h))
		io.WriteString(w, `"></script>`)
	}
}

// writeAsync writes, as each finishes, the content of the async slots that got a placeholder, each
// in a <template> followed by the call that moves it in.
func (c *Composition) writeAsync(w FlushWriter) error {
	for range c.nAsync {
		var s *slot
		select {
		case s = <-c.asyncDone:
		default:
			var ok bool
			if s, ok = settle(c, c.asyncDone); !ok {
				if err := w.Flush(); err != nil {
					return err
				}
				select {
				case s = <-c.asyncDone:
				case <-c.ctx.Done():
					return c.ctx.Err()
				}
			}
		}
		if !s.placeholder {
			continue
		}
		id := strconv.Itoa(s.id)
		io.WriteString(w, `<template id="inlay-t-`)
		io.WriteString(w, id)
		io.WriteString(w, `">`)
		if err := c.writeContent(w, s); err != nil {
			return err
		}
		io.WriteString(w, `</template><script`)
		io.WriteString(w, c.nonceAttr)
		io.WriteString(w, `>inlayFill(`)
		io.WriteString(w, id)
		io.WriteString(w, `)</script>`)
	}
	return nil
}
