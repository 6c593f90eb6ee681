// Package strictyaml decodes administrator-written YAML or JSON documents
// (schemes, questionnaires) strictly: every key that names no field and every
// value of the wrong shape is reported by its path ("indicators[2].weigth:
// unknown field"), all at once, as a *fault.ValidationError in Chinese and
// English. yaml.v3's own KnownFields mode stops at the first problem and
// names a line, not a path; an administrator fixes a document faster with
// every problem listed by the path the validator also uses.
//
// JSON is read as YAML, so both formats go through one decoder and produce
// the same error paths. The package is pure: it holds no state and touches
// no file, database or network.
package strictyaml

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ipeval/ipeval/internal/fault"
)

// DefaultMaxSize is the size bound used when Options.MaxSize is zero. The
// documents this package reads are a few kilobytes; the bound keeps a
// hostile upload from costing more than a moment to refuse.
const DefaultMaxSize = 1 << 20

// DefaultMaxNodes is the node budget used when Options.MaxNodes is zero.
const DefaultMaxNodes = 100_000

// Options tunes Decode for one kind of document.
type Options struct {
	// Subject names the document in messages, in Chinese and English, for
	// example "方案文件" and "scheme document". Empty means "文件" and
	// "document".
	Subject, SubjectEn string
	// MaxSize bounds the document in bytes; zero means DefaultMaxSize.
	MaxSize int
	// MaxNodes bounds the nodes the strict check visits, counting every
	// alias expansion, so that an alias bomb ("billion laughs") is refused
	// instead of walked; zero means DefaultMaxNodes.
	MaxNodes int
	// ElementPath, if set, names element i of the list at path, for
	// documents whose validator names some elements by id rather than by
	// index (an id survives reordering and is what the author wrote).
	// field returns the element's scalar field with the given key, if any.
	// An empty result falls back to "path[i]".
	ElementPath func(path string, i int, field func(key string) (string, bool)) string
}

func (o Options) subject() (zh, en string) {
	zh, en = o.Subject, o.SubjectEn
	if zh == "" {
		zh = "文件"
	}
	if en == "" {
		en = "document"
	}
	return zh, en
}

func (o Options) maxSize() int {
	if o.MaxSize > 0 {
		return o.MaxSize
	}
	return DefaultMaxSize
}

func (o Options) maxNodes() int {
	if o.MaxNodes > 0 {
		return o.MaxNodes
	}
	return DefaultMaxNodes
}

// Decode reads one YAML or JSON document whose root is a mapping into v, a
// non-nil pointer to a struct. Fields are matched by their yaml tags (or the
// lower-cased field name, as yaml.v3 does).
//
// Whatever v holds on entry acts as defaults: only fields present in the
// document are overwritten, so a caller can tell an absent field (keeps its
// default) from an explicit zero (replaced, and judged by the caller's
// validator). An explicit null also leaves the field as it is.
//
// Every problem is returned as one *fault.ValidationError: unknown or
// repeated keys and values of the wrong type by path; a syntax error with an
// empty Field and the line in its message; an empty, oversized, multi-
// document or overly aliased document with an empty Field. When the strict
// check fails v is left untouched.
func Decode(data []byte, v any, opts Options) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		// A programming error, not bad input: fail loudly in tests.
		return fmt.Errorf("strictyaml: Decode wants a non-nil pointer to a struct, got %T", v)
	}
	zh, en := opts.subject()
	if limit := opts.maxSize(); len(data) > limit {
		return fault.Invalid(fault.Field("", "too_large",
			fmt.Sprintf("%s超过 %d 字节", zh, limit), fmt.Sprintf("%s exceeds %d bytes", en, limit)))
	}
	if json.Valid(data) {
		data = yamlSafeJSON(data)
	}
	doc, err := readDocument(data, opts)
	if err != nil {
		return err
	}
	c := checker{opts: opts, budget: opts.maxNodes()}
	c.node(doc, rv.Elem().Type(), "")
	if err := fault.Invalid(c.errs...); err != nil {
		return err
	}
	if err := doc.Decode(v); err != nil {
		// The check has looked at every value, so this is a decoder limit
		// such as excessive aliasing.
		return fault.Invalid(fault.Field("", "invalid_document",
			"无法解析"+zh+"："+err.Error(), "cannot decode "+en+": "+err.Error()))
	}
	return nil
}

// readDocument parses exactly one YAML document whose root is a mapping.
func readDocument(data []byte, opts Options) (doc *yaml.Node, err error) {
	zh, en := opts.subject()
	// The YAML parser is third-party code fed arbitrary uploads; a panic in
	// it must be a refused document, not a crashed server.
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, syntaxError(fmt.Sprint(r))
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fault.Invalid(fault.Field("", "empty", zh+"为空", en+" is empty"))
		}
		return nil, syntaxError(err.Error())
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxError(err.Error())
		}
		return nil, fault.Invalid(fault.Field("", "multiple_documents",
			zh+"只能包含一个文档", en+" must hold exactly one YAML document"))
	}
	node := &root
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node.Kind != yaml.MappingNode {
		return nil, fault.Invalid(fault.Field("", "invalid_type",
			zh+"的顶层必须是对象", en+" must be a mapping at the top level"))
	}
	return node, nil
}

func syntaxError(msg string) error {
	msg = strings.TrimPrefix(msg, "yaml: ")
	return fault.Invalid(fault.Field("", "syntax", "YAML/JSON 语法错误："+msg, "YAML/JSON syntax error: "+msg))
}

// checker walks a document against a Go type, the way the decoder will,
// collecting every problem.
type checker struct {
	opts   Options
	errs   []fault.FieldError
	budget int
}

func (c *checker) add(fe fault.FieldError) { c.errs = append(c.errs, fe) }

// node checks n against type t at path and reports every key that names no
// field and every value of the wrong shape.
func (c *checker) node(n *yaml.Node, t reflect.Type, path string) {
	c.budget--
	if c.budget < 0 {
		if c.budget == -1 {
			zh, en := c.opts.subject()
			c.add(fault.Field("", "too_complex", zh+"结构过于复杂（别名展开过多）", en+" is too complex (too many alias expansions)"))
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias != nil {
			c.node(n.Alias, t, path)
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // the zero value (or the caller's default), which the validator judges
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		c.mapping(n, t, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.add(typeError(path, "列表", "a list"))
			return
		}
		for i, el := range n.Content {
			c.node(el, t.Elem(), c.elementPath(path, i, el))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.add(typeError(path, "对象", "a mapping"))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				c.add(fault.Field(path, "invalid_key", "键必须是字符串", "keys must be strings"))
				continue
			}
			c.node(v, t.Elem(), join(path, k.Value))
		}
	case reflect.Interface:
		// Any shape decodes into an interface; the caller judges it.
	default:
		c.scalar(n, t, path)
	}
}

// mapping checks a mapping node against struct type t.
func (c *checker) mapping(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		c.add(typeError(path, "对象", "a mapping"))
		return
	}
	fields := yamlFields(t)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			c.merge(v, t, path)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			c.add(fault.Field(path, "invalid_key", "键必须是字符串", "keys must be strings"))
			continue
		}
		key := k.Value
		p := join(path, key)
		ft, ok := fields[key]
		if !ok {
			c.add(fault.Field(p, "unknown_field", "未知字段", "unknown field"))
			continue
		}
		if seen[key] {
			c.add(fault.Field(p, "duplicate_key", "字段重复", "field appears more than once"))
			continue
		}
		seen[key] = true
		c.node(v, ft, p)
	}
}

// merge checks the mapping (or list of mappings) of a "<<" merge key
// against the struct it is merged into.
func (c *checker) merge(v *yaml.Node, t reflect.Type, path string) {
	for v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind == yaml.SequenceNode {
		for _, el := range v.Content {
			c.node(el, t, path)
		}
		return
	}
	c.node(v, t, path)
}

// scalar checks that n decodes into a value of scalar type t.
func (c *checker) scalar(n *yaml.Node, t reflect.Type, path string) {
	zh, en := scalarName(t)
	if n.Kind != yaml.ScalarNode {
		c.add(typeError(path, zh, en))
		return
	}
	v := reflect.New(t)
	if err := n.Decode(v.Interface()); err != nil {
		c.add(typeError(path, zh, en))
		return
	}
	// The decoder truncates 1.5 into an int field; only a whole number
	// (1 or 1.0) is an integer.
	if n.ShortTag() == "!!float" {
		f, err := strconv.ParseFloat(n.Value, 64)
		switch {
		case v.Elem().CanInt():
			if err != nil || f != float64(v.Elem().Int()) {
				c.add(typeError(path, zh, en))
			}
		case v.Elem().CanUint():
			if err != nil || f != float64(v.Elem().Uint()) {
				c.add(typeError(path, zh, en))
			}
		}
	}
}

// elementPath names element i of the list at path: by the caller's hook if
// it has a name for it, by index otherwise.
func (c *checker) elementPath(path string, i int, el *yaml.Node) string {
	if c.opts.ElementPath != nil {
		for el.Kind == yaml.AliasNode && el.Alias != nil {
			el = el.Alias
		}
		field := func(key string) (string, bool) {
			if el.Kind != yaml.MappingNode {
				return "", false
			}
			for j := 0; j+1 < len(el.Content); j += 2 {
				if el.Content[j].Value == key && el.Content[j+1].Kind == yaml.ScalarNode {
					return el.Content[j+1].Value, true
				}
			}
			return "", false
		}
		if p := c.opts.ElementPath(path, i, field); p != "" {
			return p
		}
	}
	return fmt.Sprintf("%s[%d]", path, i)
}

// yamlFields maps the yaml key of each field of struct t to the field type,
// the way yaml.v3 names them.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func scalarName(t reflect.Type) (zh, en string) {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "数值", "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "整数", "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "非负整数", "a non-negative integer"
	case reflect.Bool:
		return "true 或 false", "true or false"
	default:
		return "字符串", "a string"
	}
}

func typeError(path, zh, en string) fault.FieldError {
	return fault.Field(path, "invalid_type", "应为"+zh, "must be "+en)
}

// yamlSafeJSON rewrites the string literals of a valid JSON document in the
// subset of escapes the YAML decoder understands. JSON allows "\/" (PHP
// writes it by default) and surrogate pairs such as "\ud83d\ude00" (Python
// writes them); the YAML decoder refuses both. Each literal is decoded and
// re-encoded by encoding/json, which writes neither. Nothing else changes,
// so line numbers in later errors still match the upload.
func yamlSafeJSON(data []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(data))
	for i := 0; i < len(data); {
		if data[i] != '"' {
			out.WriteByte(data[i])
			i++
			continue
		}
		end := i + 1
		for end < len(data) && data[end] != '"' {
			if data[end] == '\\' {
				end++
			}
			end++
		}
		end++ // past the closing quote; data is valid JSON, so it exists
		lit := data[i:end]
		if bytes.IndexByte(lit, '\\') >= 0 {
			var s string
			if json.Unmarshal(lit, &s) == nil {
				if b, err := marshalString(s); err == nil {
					lit = b
				}
			}
		}
		out.Write(lit)
		i = end
	}
	return out.Bytes()
}

// marshalString encodes s as a JSON string without HTML escaping, which
// the YAML decoder would read back as the same text anyway.
func marshalString(s string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
