package scheme

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/regions/kind"
)

// Names a rule expression may use besides the indicator codes; Rule's doc
// comment describes them.
const (
	nameKind          = "kind"
	nameCode          = "code"
	fnMissing         = "missing"
	fnNotApplicable   = "not_applicable"
	fnValue           = "value"
	fnInKinds         = "in_kinds"
	notApplicableMark = "not_applicable"
)

// reservedName reports whether an indicator code would clash with a helper,
// a keyword or a builtin function of the expression language.
func reservedName(name string) bool {
	switch name {
	case nameKind, nameCode, fnMissing, fnNotApplicable, fnValue, fnInKinds,
		"true", "false", "nil", "and", "or", "not", "in", "matches", "contains",
		"startsWith", "endsWith", "let", "if", "else":
		return true
	}
	_, ok := builtin.Index[name]
	return ok
}

// RuleInput is what a rule sees of one region.
type RuleInput struct {
	RegionCode string
	Kind       kind.Kind
	// Values holds the region's values by indicator code; an absent code is
	// missing.
	Values map[string]Value
}

// Value is one indicator value as a rule sees it. NotApplicable wins over
// Missing: a value that cannot apply is never owed.
type Value struct {
	Number        float64
	Missing       bool
	NotApplicable bool
}

// CompiledRule is a rule with its expression compiled once, ready to be
// evaluated for every region. It is safe for concurrent use.
type CompiledRule struct {
	Rule
	program  *vm.Program
	reads    []string // indicator codes the expression names, sorted
	usesKind bool
	usesCode bool
}

// CompileRules validates the scheme and compiles its rules in order, for
// evaluation region by region; Rule describes what an expression may use.
// The error is Validate's: the rules compile if and only if the scheme is valid.
func (s Scheme) CompileRules() ([]CompiledRule, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	env := newRuleEnv(s)
	out := make([]CompiledRule, 0, len(s.Rules))
	for _, r := range s.Rules {
		c, fe := env.compile(r.When)
		if fe != nil { // unreachable after Validate; kept so it can never be ignored
			return nil, fault.Invalid(fault.Field(rulePath(len(out), r.ID)+".when", fe.Code, fe.Message, fe.MessageEn))
		}
		c.Rule = r
		out = append(out, c)
	}
	return out, nil
}

// Eval reports whether the rule fires for in, and the values it read:
// every indicator the expression names (a number, nil when missing, or
// "not_applicable"), plus "kind" and "code" when it names them. The read
// values are what the result shows to explain the rule. Eval does not change
// the rule and may run concurrently.
func (c CompiledRule) Eval(in RuleInput) (fired bool, read map[string]any, err error) {
	if c.program == nil {
		return false, nil, fmt.Errorf("rule %s: not compiled (use Scheme.CompileRules)", c.ID)
	}
	env := make(map[string]any, len(c.reads)+6)
	read = make(map[string]any, len(c.reads)+2)
	for _, code := range c.reads {
		v := lookup(in, code)
		env[code] = number(v)
		read[code] = recorded(v)
	}
	env[nameKind] = string(in.Kind)
	env[nameCode] = in.RegionCode
	if c.usesKind {
		read[nameKind] = string(in.Kind)
	}
	if c.usesCode {
		read[nameCode] = in.RegionCode
	}
	env[fnMissing] = func(code string) bool { v := lookup(in, code); return v.Missing && !v.NotApplicable }
	env[fnNotApplicable] = func(code string) bool { return lookup(in, code).NotApplicable }
	env[fnValue] = func(code string) float64 { return number(lookup(in, code)) }
	env[fnInKinds] = func(kinds ...string) bool {
		for _, k := range kinds {
			if k == string(in.Kind) {
				return true
			}
		}
		return false
	}
	machine := vm.VM{MemoryBudget: RuleMemoryBudget}
	out, err := machine.Run(c.program, env)
	if err != nil {
		return false, read, fmt.Errorf("rule %s: %w", c.ID, err)
	}
	fired, ok := out.(bool)
	if !ok {
		return false, read, fmt.Errorf("rule %s: condition gave %T, not bool", c.ID, out)
	}
	return fired, read, nil
}

// lookup returns the value of code; an absent code is missing.
func lookup(in RuleInput, code string) Value {
	v, ok := in.Values[code]
	if !ok {
		return Value{Missing: true}
	}
	return v
}

func number(v Value) float64 {
	if v.Missing || v.NotApplicable || math.IsNaN(v.Number) {
		return 0
	}
	return v.Number
}

func recorded(v Value) any {
	switch {
	case v.NotApplicable:
		return notApplicableMark
	case v.Missing:
		return nil
	}
	return v.Number
}

// ruleEnv declares, for the type checker, exactly the names a rule of one
// scheme may use; the values are placeholders of the right types.
type ruleEnv struct {
	vars  map[string]any
	known map[string]bool // indicator codes
}

func newRuleEnv(s Scheme) ruleEnv {
	e := ruleEnv{vars: map[string]any{
		nameKind:        "",
		nameCode:        "",
		fnMissing:       func(string) bool { return false },
		fnNotApplicable: func(string) bool { return false },
		fnValue:         func(string) float64 { return 0 },
		fnInKinds:       func(...string) bool { return false },
	}, known: map[string]bool{}}
	for _, ind := range s.Indicators {
		if identPattern.MatchString(ind.Code) && !reservedName(ind.Code) {
			e.vars[ind.Code] = float64(0)
			e.known[ind.Code] = true
		}
	}
	return e
}

// compile type-checks when as a boolean expression over the environment and
// records what it reads; a problem comes back as a FieldError without a path.
func (e ruleEnv) compile(when string) (CompiledRule, *fault.FieldError) {
	// now() would make a rule's answer depend on the hour of the run, so
	// that the same inputs could score differently: rules see the region's
	// inputs and nothing else.
	// Walk the tree as written, and before compiling it: the compiled
	// program is optimised (a literal list becomes a set), which would hide
	// the literals to check, and the optimiser evaluates constant parts,
	// which must be bounded first.
	cfg := conf.CreateNew()
	cfg.MaxNodes = maxRuleNodes
	tree, err := parser.ParseWithConfig(when, cfg)
	if err != nil {
		if strings.Contains(err.Error(), "exceeds maximum allowed nodes") {
			return CompiledRule{}, tooCostly(fmt.Sprintf("表达式最多包含 %d 个语法节点", maxRuleNodes),
				fmt.Sprintf("an expression may have at most %d syntax nodes", maxRuleNodes))
		}
		return CompiledRule{}, exprProblem(err)
	}
	if fe := checkCost(&tree.Node); fe != nil {
		return CompiledRule{}, fe
	}
	program, err := expr.Compile(when, expr.Env(e.vars), expr.AsBool(), expr.DisableBuiltin("now"), expr.MaxNodes(maxRuleNodes))
	if err != nil {
		return CompiledRule{}, exprProblem(err)
	}
	w := &walker{known: e.known, reads: map[string]bool{}}
	ast.Walk(&tree.Node, w)
	if w.problem != nil {
		return CompiledRule{}, w.problem
	}
	c := CompiledRule{program: program, usesKind: w.usesKind, usesCode: w.usesCode}
	for code := range w.reads {
		c.reads = append(c.reads, code)
	}
	sort.Strings(c.reads)
	return c, nil
}

// exprProblem turns an expr error into a FieldError. An unknown name gets
// the message authors look for: unknown name "F9".
func exprProblem(err error) *fault.FieldError {
	var fe *file.Error
	if errors.As(err, &fe) {
		if name, ok := strings.CutPrefix(fe.Message, "unknown name "); ok {
			return unknownName(name)
		}
		msg := fmt.Sprintf("%s (%d:%d)", strings.TrimSpace(fe.Message), fe.Line, fe.Column+1)
		return &fault.FieldError{Code: "invalid_expression", Message: "表达式无效：" + msg, MessageEn: "invalid expression: " + msg}
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "expected bool") {
		return &fault.FieldError{Code: "not_boolean", Message: "规则条件必须是布尔表达式：" + msg, MessageEn: "condition must be a boolean expression: " + msg}
	}
	return &fault.FieldError{Code: "invalid_expression", Message: "表达式无效：" + msg, MessageEn: "invalid expression: " + msg}
}

func unknownName(name string) *fault.FieldError {
	return &fault.FieldError{Code: "unknown_name", Message: fmt.Sprintf("未知名称 %q", name), MessageEn: fmt.Sprintf("unknown name %q", name)}
}

// walker collects the names an expression reads and checks the literal
// arguments the type checker cannot: indicator codes and region kinds.
type walker struct {
	known    map[string]bool
	reads    map[string]bool
	usesKind bool
	usesCode bool
	firstProblem
}

// firstProblem keeps the first problem a tree walk finds.
type firstProblem struct{ problem *fault.FieldError }

func (f *firstProblem) fail(fe *fault.FieldError) {
	if f.problem == nil {
		f.problem = fe
	}
}

// Visit implements ast.Visitor.
func (w *walker) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		switch {
		case w.known[n.Value]:
			w.reads[n.Value] = true
		case n.Value == nameKind:
			w.usesKind = true
		case n.Value == nameCode:
			w.usesCode = true
		case n.Value == "$env":
			// $env["F1"] would read a value the explanation cannot list.
			w.fail(&fault.FieldError{Code: "invalid_expression", Message: "表达式不能使用 $env", MessageEn: "expressions may not use $env"})
		}
	case *ast.CallNode:
		callee, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch callee.Value {
		case fnMissing, fnNotApplicable, fnValue:
			for _, arg := range n.Arguments {
				s, ok := arg.(*ast.StringNode)
				switch {
				case !ok:
					w.fail(literalRequired(callee.Value, "指标代码", "an indicator code"))
				case !w.known[s.Value]:
					w.fail(unknownName(s.Value))
				default:
					w.reads[s.Value] = true
				}
			}
		case fnInKinds:
			w.usesKind = true
			for _, arg := range n.Arguments {
				s, ok := arg.(*ast.StringNode)
				if !ok {
					w.fail(literalRequired(callee.Value, "地区类型", "a region kind"))
					continue
				}
				w.checkKind(s.Value)
			}
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "==", "!=", "in":
			if isIdent(n.Left, nameKind) {
				w.checkKindLiterals(n.Right)
			} else if isIdent(n.Right, nameKind) {
				w.checkKindLiterals(n.Left)
			}
		}
	}
}

func (w *walker) checkKindLiterals(n ast.Node) {
	switch n := n.(type) {
	case *ast.StringNode:
		w.checkKind(n.Value)
	case *ast.ArrayNode:
		for _, el := range n.Nodes {
			if s, ok := el.(*ast.StringNode); ok {
				w.checkKind(s.Value)
			}
		}
	}
}

func (w *walker) checkKind(k string) {
	if !knownKind(k) {
		w.fail(&fault.FieldError{Code: "unknown_kind", Message: fmt.Sprintf("未知的地区类型 %q", k), MessageEn: fmt.Sprintf("unknown region kind %q", k)})
	}
}

func isIdent(n ast.Node, name string) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == name
}

func literalRequired(fn, zh, en string) *fault.FieldError {
	return &fault.FieldError{Code: "literal_required",
		Message:   fmt.Sprintf("%s 的参数必须是带引号的%s", fn, zh),
		MessageEn: fmt.Sprintf("the arguments of %s must be quoted, as %s", fn, en)}
}
