package scheme

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ipeval/ipeval/internal/fault"
)

// MaxSize bounds a scheme document. A real scheme is a few kilobytes; the
// bound keeps a hostile upload from costing more than a moment to refuse.
const MaxSize = 1 << 20

// maxNodes bounds the nodes the strict check visits, counting every alias
// expansion, so that an alias bomb is refused instead of walked.
const maxNodes = 100_000

// Parse reads a scheme from YAML or JSON (JSON is read as YAML, so both go
// through one decoder and one set of error paths). Decoding is strict: an
// unknown field or a value of the wrong type is reported by path, for
// example "indicators[2].weigth: unknown field". Absent fields get their
// defaults — version 1, coverage threshold 0.65, arithmetic aggregation and,
// per indicator, direction "+", missing policy "reweight" and source
// "reported" — and the result must pass Validate. Grades come back ordered
// by Min, highest first.
//
// Every error is a *fault.ValidationError; a syntax error has an empty
// Field and the line in its message.
func Parse(data []byte) (Scheme, error) {
	if len(data) > MaxSize {
		return Scheme{}, fault.Invalid(fault.Field("", "too_large",
			fmt.Sprintf("方案文件超过 %d 字节", MaxSize), fmt.Sprintf("scheme document exceeds %d bytes", MaxSize)))
	}
	if json.Valid(data) {
		data = yamlSafeJSON(data)
	}
	doc, err := readDocument(data)
	if err != nil {
		return Scheme{}, err
	}
	budget := maxNodes
	var errs []fault.FieldError
	checkNode(doc, reflect.TypeOf(Scheme{}), "", &errs, &budget)
	if err := fault.Invalid(errs...); err != nil {
		return Scheme{}, err
	}
	// Scheme-level defaults are set before decoding so that only an absent
	// field gets them: an explicit coverage_threshold of 0 is refused, not
	// silently replaced.
	s := Scheme{Version: 1, CoverageThreshold: DefaultCoverageThreshold, Aggregation: AggregationArithmetic}
	if err := doc.Decode(&s); err != nil {
		// checkNode has looked at every value, so this is a decoder limit
		// such as excessive aliasing.
		return Scheme{}, fault.Invalid(fault.Field("", "invalid_document", "无法解析方案文件："+err.Error(), "cannot decode scheme: "+err.Error()))
	}
	s.applyIndicatorDefaults()
	if err := s.Validate(); err != nil {
		return Scheme{}, err
	}
	sort.SliceStable(s.Grades, func(i, j int) bool { return s.Grades[i].Min > s.Grades[j].Min })
	return s, nil
}

// applyIndicatorDefaults fills per-indicator defaults. An empty string
// cannot be told from an absent field here, and means the same.
func (s *Scheme) applyIndicatorDefaults() {
	for i := range s.Indicators {
		ind := &s.Indicators[i]
		if ind.Direction == "" {
			ind.Direction = DirectionUp
		}
		if ind.Missing == "" {
			ind.Missing = MissingReweight
		}
		if ind.Source == "" {
			ind.Source = SourceReported
		}
	}
}

// readDocument parses exactly one YAML document whose root is a mapping.
func readDocument(data []byte) (doc *yaml.Node, err error) {
	// The YAML parser is third-party code fed arbitrary uploads; a panic in
	// it must be a refused document, not a crashed server.
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, syntaxError(fmt.Sprint(r))
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fault.Invalid(fault.Field("", "empty", "方案文件为空", "scheme document is empty"))
		}
		return nil, syntaxError(err.Error())
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxError(err.Error())
		}
		return nil, fault.Invalid(fault.Field("", "multiple_documents", "方案文件只能包含一个文档", "scheme file must hold exactly one document"))
	}
	node := &root
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node.Kind != yaml.MappingNode {
		return nil, fault.Invalid(fault.Field("", "invalid_type", "方案文件的顶层必须是对象", "scheme document must be a mapping at the top level"))
	}
	return node, nil
}

func syntaxError(msg string) error {
	msg = strings.TrimPrefix(msg, "yaml: ")
	return fault.Invalid(fault.Field("", "syntax", "YAML/JSON 语法错误："+msg, "YAML/JSON syntax error: "+msg))
}

// checkNode walks node against type t, the way the decoder will, and reports
// by path every key that names no field and every value of the wrong shape.
// yaml.v3's own KnownFields mode stops at the first problem and names a line,
// not a path; administrators fix a scheme faster with all of them by path.
func checkNode(n *yaml.Node, t reflect.Type, path string, errs *[]fault.FieldError, budget *int) {
	*budget--
	if *budget < 0 {
		if *budget == -1 {
			*errs = append(*errs, fault.Field("", "too_complex", "方案文件结构过于复杂（别名展开过多）", "scheme document is too complex (too many alias expansions)"))
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		checkNode(n.Alias, t, path, errs, budget)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // the zero value, which Validate judges
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			*errs = append(*errs, typeError(path, "对象", "a mapping"))
			return
		}
		fields := yamlFields(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
				checkMerge(v, t, path, errs, budget)
				continue
			}
			key := k.Value
			p := join(path, key)
			if k.Kind != yaml.ScalarNode {
				*errs = append(*errs, fault.Field(path, "invalid_key", "键必须是字符串", "keys must be strings"))
				continue
			}
			ft, ok := fields[key]
			if !ok {
				*errs = append(*errs, fault.Field(p, "unknown_field", "未知字段", "unknown field"))
				continue
			}
			if seen[key] {
				*errs = append(*errs, fault.Field(p, "duplicate_key", "字段重复", "field appears more than once"))
				continue
			}
			seen[key] = true
			checkNode(v, ft, p, errs, budget)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			*errs = append(*errs, typeError(path, "列表", "a list"))
			return
		}
		for i, el := range n.Content {
			checkNode(el, t.Elem(), elementPath(path, i, el), errs, budget)
		}
	default:
		zh, en := scalarName(t)
		if n.Kind != yaml.ScalarNode {
			*errs = append(*errs, typeError(path, zh, en))
			return
		}
		v := reflect.New(t)
		if err := n.Decode(v.Interface()); err != nil {
			*errs = append(*errs, typeError(path, zh, en))
			return
		}
		// The decoder truncates 1.5 into an int field; only a whole number
		// (1 or 1.0) is an integer.
		if n.ShortTag() == "!!float" && v.Elem().CanInt() {
			if f, err := strconv.ParseFloat(n.Value, 64); err != nil || f != float64(v.Elem().Int()) {
				*errs = append(*errs, typeError(path, zh, en))
			}
		}
	}
}

// checkMerge checks the mapping (or list of mappings) of a "<<" merge key
// against the struct it is merged into.
func checkMerge(v *yaml.Node, t reflect.Type, path string, errs *[]fault.FieldError, budget *int) {
	for v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind == yaml.SequenceNode {
		for _, el := range v.Content {
			checkNode(el, t, path, errs, budget)
		}
		return
	}
	checkNode(v, t, path, errs, budget)
}

// yamlFields maps the yaml key of each field of struct t to the field type.
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

// elementPath names element i of the list at path. Rules are named by id,
// as Validate names them, because an id survives reordering and is what the
// author wrote; everything else by index.
func elementPath(path string, i int, el *yaml.Node) string {
	if path == "rules" {
		for el.Kind == yaml.AliasNode && el.Alias != nil {
			el = el.Alias
		}
		if el.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(el.Content); j += 2 {
				if el.Content[j].Value == "id" && el.Content[j+1].Kind == yaml.ScalarNode {
					return rulePath(i, el.Content[j+1].Value)
				}
			}
		}
	}
	return fmt.Sprintf("%s[%d]", path, i)
}

// rulePath names rule i by its id when the id is usable in a path.
func rulePath(i int, id string) string {
	if ruleIDPattern.MatchString(id) {
		return "rules[" + id + "]"
	}
	return "rules[" + strconv.Itoa(i) + "]"
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
