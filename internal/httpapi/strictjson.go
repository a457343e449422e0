package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/vhupay/vhupay/internal/validation"
)

// strictKeys checks a JSON body against the type it is decoded into, before encoding/json sees
// it: every member name must match a field's JSON name exactly (encoding/json would take
// "CENTER_ID" for center_id), unknown members are reported with their full path
// ("lines[0].foo"), and no string may hold a NUL character, which PostgreSQL refuses in text.
// Malformed JSON is left to the decoder, which says where it breaks.
func strictKeys(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	var col validation.Collector
	walkJSON(&col, "", v, t)
	return col.Err()
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func walkJSON(col *validation.Collector, path string, v any, t reflect.Type) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := v.(string); ok && strings.ContainsRune(s, 0) {
		col.Add(orBody(path), "encoding", "must not contain a NUL character")
		return
	}
	// A type that decodes itself, or an interface, takes any members: only NULs are looked for.
	opaque := t == nil || t.Kind() == reflect.Interface ||
		reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)
	if !opaque && v != nil && !fits(v, t.Kind()) {
		col.Add(orBody(path), "type", "must be "+jsonType(t))
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			p := join(path, k)
			if strings.ContainsRune(k, 0) {
				col.Add(orBody(path), "encoding", "member names must not contain a NUL character")
				continue
			}
			switch {
			case opaque:
				walkJSON(col, p, val, nil)
			case t.Kind() == reflect.Map:
				walkJSON(col, p, val, t.Elem())
			case t.Kind() == reflect.Struct:
				ft, ok := fieldByJSONName(t, k)
				if !ok {
					col.Add(p, "unknown", "unknown field (names are case-sensitive)")
					continue
				}
				walkJSON(col, p, val, ft)
			default:
				walkJSON(col, p, val, nil) // a type mismatch: the decoder reports it
			}
		}
	case []any:
		var elem reflect.Type
		if !opaque && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i, val := range v {
			walkJSON(col, path+"["+strconv.Itoa(i)+"]", val, elem)
		}
	}
}

// fits reports whether a decoded JSON value (UseNumber) can go into a Go value of kind k; the
// decoder still checks what this leaves out (a fraction into an integer, a range).
func fits(v any, k reflect.Kind) bool {
	switch v.(type) {
	case string:
		return k == reflect.String
	case json.Number:
		return k >= reflect.Int && k <= reflect.Float64
	case bool:
		return k == reflect.Bool
	case map[string]any:
		return k == reflect.Struct || k == reflect.Map
	case []any:
		return k == reflect.Slice || k == reflect.Array
	}
	return true
}

// fieldByJSONName finds the exported field of struct t (embedded structs included) whose JSON
// name is exactly name.
func fieldByJSONName(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		n, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && n == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if ft, ok := fieldByJSONName(et, name); ok {
					return ft, true
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if n == "" {
			n = f.Name
		}
		if n == name {
			return f.Type, true
		}
	}
	return nil, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}
