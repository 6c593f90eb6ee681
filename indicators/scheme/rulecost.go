package scheme

import (
	"fmt"
	"math"

	"github.com/expr-lang/expr/ast"

	"github.com/ipeval/ipeval/internal/fault"
)

// A rule is evaluated for every region of every run, so its cost is bounded
// when the scheme is saved, before the expression is compiled (the
// compiler's optimiser already evaluates constant parts). The bounds leave
// every sensible condition — comparisons, kinds, lists, a predicate over a
// short list — well inside them, and keep one rule's work for one region
// to about maxRuleNodes × maxRuleRange steps.
const (
	// maxRuleNodes caps the size of an expression's syntax tree.
	maxRuleNodes = 200
	// maxRuleRange caps the number of integers a range a..b produces; its
	// bounds must be integer literals.
	maxRuleRange = 1000
	// maxRuleNesting is how deep predicates (all, any, map, filter, …) may
	// nest: one, so that their work adds up instead of multiplying.
	maxRuleNesting = 1
	// RuleMemoryBudget is the expression machine's memory budget (in its
	// own units, about one per element or entry made) for one rule and one
	// region; running out fails that region, naming the rule.
	RuleMemoryBudget = 10_000
)

// unboundedBuiltins grow a value without a bound the tree shows: repeat
// multiplies a string, reduce can double its accumulator at every step.
var unboundedBuiltins = map[string]bool{"repeat": true, "reduce": true}

// costChecker refuses what could make an expression's run unbounded. It
// walks the tree after its children (ast.Walk's order), so a predicate's
// inner predicates are measured before it.
type costChecker struct {
	height map[*ast.PredicateNode]int // nesting height of predicates seen
	firstProblem
}

func checkCost(root *ast.Node) *fault.FieldError {
	c := &costChecker{height: map[*ast.PredicateNode]int{}}
	ast.Walk(root, c)
	return c.problem
}

func tooCostly(zh, en string) *fault.FieldError {
	return &fault.FieldError{Code: "too_costly", Message: "表达式计算量可能无上限：" + zh, MessageEn: "the expression's cost could be unbounded: " + en}
}

// Visit implements ast.Visitor.
func (c *costChecker) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.VariableDeclaratorNode:
		c.fail(tooCostly("不能使用 let 定义变量", "let is not allowed"))
	case *ast.BuiltinNode:
		if unboundedBuiltins[n.Name] {
			c.fail(tooCostly("不能使用 "+n.Name, n.Name+" is not allowed"))
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && unboundedBuiltins[id.Value] {
			c.fail(tooCostly("不能使用 "+id.Value, id.Value+" is not allowed"))
		}
	case *ast.BinaryNode:
		if n.Operator == ".." {
			c.checkRange(n)
		}
	case *ast.PredicateNode:
		h := 1
		ast.Walk(&n.Node, visitFunc(func(inner *ast.Node) {
			switch m := (*inner).(type) {
			case *ast.PredicateNode:
				h = max(h, 1+c.height[m])
			case *ast.BinaryNode:
				if m.Operator == ".." {
					c.fail(tooCostly("范围（a..b）不能写在 all、map、filter 等谓词内部",
						"a range (a..b) may not appear inside a predicate such as all, map or filter"))
				}
			}
		}))
		c.height[n] = h
		if h > maxRuleNesting {
			c.fail(tooCostly(fmt.Sprintf("all、map、filter 等谓词最多嵌套 %d 层", maxRuleNesting),
				fmt.Sprintf("predicates such as all, map or filter may nest at most %d deep", maxRuleNesting)))
		}
	}
}

// checkRange requires integer literal bounds spanning at most maxRuleRange.
func (c *costChecker) checkRange(n *ast.BinaryNode) {
	lo, okLo := intLiteral(n.Left)
	hi, okHi := intLiteral(n.Right)
	if !okLo || !okHi {
		c.fail(tooCostly("范围（a..b）的两端必须是整数常量", "the bounds of a range (a..b) must be integer literals"))
		return
	}
	if hi >= lo && float64(hi)-float64(lo)+1 > maxRuleRange {
		c.fail(tooCostly(fmt.Sprintf("范围（a..b）最多包含 %d 个整数", maxRuleRange),
			fmt.Sprintf("a range (a..b) may hold at most %d integers", maxRuleRange)))
	}
}

// intLiteral returns the value of an integer literal, negated or not.
func intLiteral(n ast.Node) (int, bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		return n.Value, true
	case *ast.UnaryNode:
		if v, ok := intLiteral(n.Node); ok && n.Operator == "-" && v != math.MinInt {
			return -v, true
		}
	}
	return 0, false
}

// visitFunc adapts a function to ast.Visitor.
type visitFunc func(*ast.Node)

// Visit implements ast.Visitor.
func (f visitFunc) Visit(n *ast.Node) { f(n) }
