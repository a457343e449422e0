package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-playground/validator/v10"

	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/validation"
)

// validationProblem is a single-field validation failure found at the edge.
type validationProblem struct{ field, code, message string }

func (v *validationProblem) Error() string { return v.field + ": " + v.message }

func (v *validationProblem) Unwrap() error { return validation.Field(v.field, v.code, v.message) }

// newValidator returns a validator that names fields by their JSON names.
func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return v
}

// bind decodes the JSON body strictly into dst (unknown fields, trailing data and wrong types are
// refused) and validates it. Every failure is a *validation.Error naming JSON field paths.
func (s *Server) bind(c *gin.Context, dst any) error {
	body := bodyOf(c)
	if len(bytes.TrimSpace(body)) == 0 {
		return validation.Field("body", "required", "a JSON object is required")
	}
	if err := strictKeys(body, reflect.TypeOf(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return validation.Field("body", "json", "unexpected data after the JSON object")
	}
	if err := s.validate.Struct(dst); err != nil {
		var verrs validator.ValidationErrors
		if errors.As(err, &verrs) {
			var col validation.Collector
			for _, fe := range verrs {
				col.Add(fieldPath(fe.Namespace()), fe.Tag(), fieldMessage(fe))
			}
			return col.Err()
		}
		return validation.Field("body", "invalid", "the request body is invalid")
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return validation.Field("body", "json", fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return validation.Field(field, "type", "must be "+jsonType(typ.Type))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return validation.Field("body", "json", "malformed JSON: unexpected end")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return validation.Field(name, "unknown", "unknown field")
	}
	return validation.Field("body", "json", "malformed JSON")
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// fieldPath drops the struct name from a validator namespace: "createOrder.lines[0].quantity" → "lines[0].quantity".
func fieldPath(ns string) string {
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return ns
}

func fieldMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "min":
		if fe.Kind() == reflect.String {
			return "must have at least " + fe.Param() + " characters"
		}
		if fe.Kind() == reflect.Slice {
			return "must have at least " + fe.Param() + " items"
		}
		return "must be at least " + fe.Param()
	case "max":
		if fe.Kind() == reflect.String {
			return "must have at most " + fe.Param() + " characters"
		}
		if fe.Kind() == reflect.Slice {
			return "must have at most " + fe.Param() + " items"
		}
		return "must be at most " + fe.Param()
	case "oneof":
		return "must be one of: " + fe.Param()
	case "email":
		return "must be an e-mail address"
	case "iso3166_1_alpha2":
		return "must be an ISO 3166-1 alpha-2 country code"
	case "len":
		return "must have exactly " + fe.Param() + " characters"
	case "numeric":
		return "must contain only digits"
	}
	return "is invalid (" + fe.Tag() + ")"
}

// pageRequest reads limit and cursor from the query: limit 1–100 (default 20).
func pageRequest(c *gin.Context) (page.Request, error) {
	p := page.Request{Limit: page.DefaultLimit}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > page.MaxLimit {
			return p, validation.Field("limit", "range", "must be an integer from 1 to 100")
		}
		p.Limit = n
	}
	if v := c.Query("cursor"); v != "" {
		after, err := page.Decode(v)
		if err != nil {
			return p, validation.Field("cursor", "invalid", "unknown cursor")
		}
		p.After = after
	}
	return p, nil
}

// ListMeta is the pagination part of every list answer.
type listMeta struct {
	HasMore bool `json:"has_more" binding:"required"`
	// NextCursor is absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

func metaOf[T any](p page.Page[T]) listMeta {
	return listMeta{HasMore: p.HasMore, NextCursor: p.Next}
}

func created(c *gin.Context, location string, body any) {
	if location != "" {
		c.Header("Location", location)
	}
	c.JSON(http.StatusCreated, body)
}
