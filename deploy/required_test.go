package deploy

import (
	"go/types"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/inlay-dev/inlay/services/kit/config"
)

// required is a variable a process refuses to default in prod, with its default in Go, if any.
type required struct {
	name, def string
}

// kitMains are the functions whose type argument is a process's configuration.
var kitMains = map[string]bool{
	"github.com/inlay-dev/inlay/services/kit.Main":     true,
	"github.com/inlay-dev/inlay/services/kit.MainArgs": true,
}

// prodRequired reads, from the source of each process's main package (dirs: binary → directory),
// the variables its configuration marks `prod:"required"`: the fields of the type it passes to
// kit.Main, as config.Load sees them. So the list is the code's own, never a copy.
func prodRequired(t *testing.T, dirs map[string]string) map[string][]required {
	t.Helper()
	var patterns []string
	binaries := map[string]string{} // package path → binary
	for binary, dir := range dirs {
		patterns = append(patterns, "./"+filepath.ToSlash(dir))
		binaries["github.com/inlay-dev/inlay/"+strings.TrimPrefix(filepath.ToSlash(dir), "../")] = binary
	}
	pkgs, err := packages.Load(&packages.Config{
		Mode: packages.NeedName | packages.NeedTypes | packages.NeedSyntax | packages.NeedTypesInfo,
		Dir:  ".",
	}, patterns...)
	if err != nil {
		t.Fatalf("load the processes' packages: %v", err)
	}
	out := map[string][]required{}
	for _, pkg := range pkgs {
		for _, e := range pkg.Errors {
			t.Fatalf("%s: %v", pkg.PkgPath, e)
		}
		binary, ok := binaries[pkg.PkgPath]
		if !ok {
			t.Fatalf("loaded %s, which is no process's package", pkg.PkgPath)
		}
		var cfg types.Type
		for id, inst := range pkg.TypesInfo.Instances {
			if fn, ok := pkg.TypesInfo.Uses[id].(*types.Func); ok && kitMains[fn.FullName()] && inst.TypeArgs.Len() == 1 {
				cfg = inst.TypeArgs.At(0)
			}
		}
		if cfg == nil {
			t.Errorf("%s: no call of kit.Main or kit.MainArgs, so its configuration is unknown", pkg.PkgPath)
			continue
		}
		out[binary] = []required{}
		walkTypeFields(cfg, func(v *types.Var, tag reflect.StructTag) {
			if name, ok := config.ProdRequired(tag); ok {
				out[binary] = append(out[binary], required{name: name, def: tag.Get("envDefault")})
			}
		})
	}
	return out
}

// walkTypeFields calls fn for each field of struct type t, descending, as config.Load does, into
// struct fields without an env tag of their own.
func walkTypeFields(t types.Type, fn func(*types.Var, reflect.StructTag)) {
	st, ok := t.Underlying().(*types.Struct)
	if !ok {
		return
	}
	for i := range st.NumFields() {
		f, tag := st.Field(i), reflect.StructTag(st.Tag(i))
		if key, _, _ := strings.Cut(tag.Get("env"), ","); key == "" {
			if _, isStruct := f.Type().Underlying().(*types.Struct); isStruct {
				walkTypeFields(f.Type(), fn)
				continue
			}
		}
		fn(f, tag)
	}
}
