package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/inlay-dev/inlay/shell/compose"
)

// readPageFiles reads every *.html page template in dir; name.html is served at /name. Each is
// parsed once.
func readPageFiles(dir string) (map[string]*compose.Template, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("INLAY_PAGES_DIR: %w", err)
	}
	files := map[string]*compose.Template{}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".html" {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ".html")
		b, err := os.ReadFile(filepath.Join(dir, e.Name())) //nolint:gosec // G304: the operator's own INLAY_PAGES_DIR, a name it listed
		if err != nil {
			return nil, fmt.Errorf("INLAY_PAGES_DIR: %w", err)
		}
		files[name] = compose.Parse(b)
	}
	return files, nil
}
