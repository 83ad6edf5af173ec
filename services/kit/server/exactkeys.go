package server

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/inlay-dev/inlay/services/kit/errs"
)

// ExactKeys checks a JSON body against the type v points to before it is decoded: every member of
// an object that maps to a struct must name one of its fields exactly, and no object may hold a
// member twice. encoding/json matches member names without regard to case (Unicode folds included:
// "ſku" is sku) and keeps the last of two, so a body that a validator read one way (exact names,
// the first value) would otherwise be decoded another. The error is EINVALID naming the member
// (errs.Fields); a body nested deeper than maxDepth is EINVALID too. A v that is not a pointer to a
// struct is not checked; malformed JSON is left to the
// decoder to report.
func ExactKeys(body []byte, v any) error {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkKeys(dec, t, 0)
}

// maxDepth bounds how deep a body's arrays and objects may nest: no API body nests beyond a few
// levels, and a megabyte of "[" must not run the walk (one frame a level) out of stack.
const maxDepth = 32

// walkKeys reads one JSON value from dec, checking its objects' members against t (nil: anything).
func walkKeys(dec *json.Decoder, t reflect.Type, depth int) error {
	if depth > maxDepth {
		return errs.Invalid("the body nests arrays and objects too deep", nil)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil //nolint:nilerr // malformed JSON: the decoder that follows reports it
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t, map[string]reflect.Type{})
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil //nolint:nilerr // as above
			}
			name, _ := kt.(string)
			if seen[name] {
				return errs.Invalid(name+" is given twice", map[string]string{name: "given twice"})
			}
			seen[name] = true
			var ft reflect.Type
			switch {
			case fields != nil:
				f, ok := fields[name]
				if !ok {
					return errs.Invalid("unknown field "+name, map[string]string{name: "unknown field"})
				}
				ft = f
			case t != nil && t.Kind() == reflect.Map:
				ft = t.Elem()
			}
			if err := walkKeys(dec, ft, depth+1); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // the closing brace
	case json.Delim('['):
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for dec.More() {
			if err := walkKeys(dec, et, depth+1); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // the closing bracket
	}
	return nil
}

// jsonFields adds to fields the JSON member names of struct t's fields, as encoding/json names them
// (the tag's name, else the field's; embedded structs' fields promoted), with their types.
func jsonFields(t reflect.Type, fields map[string]reflect.Type) map[string]reflect.Type {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			jsonFields(ft, fields)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, ok := fields[name]; !ok {
			fields[name] = f.Type
		}
	}
	return fields
}
