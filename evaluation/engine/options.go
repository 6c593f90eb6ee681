package engine

import (
	"fmt"
	"slices"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
)

// Switch overrides an on/off setting of the scheme; the zero value keeps
// the scheme's own setting.
type Switch string

// Values of Switch.
const (
	SwitchScheme Switch = ""
	SwitchOn     Switch = "on"
	SwitchOff    Switch = "off"
)

// Options change how one evaluation scores, without changing the scheme or
// the data. The zero value scores exactly as the scheme says and produces
// the full result. The overrides exist for the sensitivity analysis, which
// scores one Prepared input many times with perturbed weights, another
// normalisation, another aggregation or imputation switched off.
type Options struct {
	// DimensionWeights replaces the weights of the named dimensions
	// (relative, like the scheme's).
	DimensionWeights map[string]float64 `json:"dimension_weights,omitempty"`
	// IndicatorWeights replaces the weights of the named indicators
	// (relative within their dimension). An indicator without a dimension
	// cannot be given a weight.
	IndicatorWeights map[string]float64 `json:"indicator_weights,omitempty"`
	// Normalisation replaces the normalisation of the named indicators.
	Normalisation map[string]scheme.Normalisation `json:"normalisation,omitempty"`
	// Aggregation replaces the scheme's aggregation when not empty.
	Aggregation string `json:"aggregation,omitempty"`
	// Outliers switches outlier treatment on or off regardless of the scheme.
	Outliers Switch `json:"outliers,omitempty"`
	// NoImputation treats every missing value as if its policy were
	// reweight: nothing is imputed, its weight is shared.
	NoImputation bool `json:"no_imputation,omitempty"`
	// NoPaths and NoExplanations leave out the path to the next grade and
	// the explanations, which a sensitivity analysis does not read.
	NoPaths        bool `json:"no_paths,omitempty"`
	NoExplanations bool `json:"no_explanations,omitempty"`
}

// indConf is the effective configuration of one indicator in one run.
type indConf struct {
	ind    *scheme.Indicator
	dim    int     // index of the dimension, -1 when none
	w      float64 // relative weight within the dimension
	scored bool    // has a dimension with weight and a weight of its own
	norm   scheme.Normalisation
	method string
	dir    float64 // +1 or -1; for dtf, the sign of Best − Worst
	policy string  // missing-data policy after NoImputation
}

type config struct {
	inds     []indConf
	dimW     []float64
	agg      string
	outliers bool
}

// resolve applies opt to the scheme and checks the overrides.
func (p *Prepared) resolve(opt Options) (config, error) {
	s := &p.scheme
	var errs []fault.FieldError
	bad := func(field, code, zh, en string) { errs = append(errs, fault.Field(field, code, zh, en)) }
	cfg := config{agg: s.Aggregation, outliers: s.OutlierTreatment}
	if opt.Aggregation != "" {
		cfg.agg = opt.Aggregation
	}
	if cfg.agg != scheme.AggregationArithmetic && cfg.agg != scheme.AggregationGeometric {
		bad("aggregation", "unknown_aggregation", fmt.Sprintf("未知的汇总方法 %q", cfg.agg), fmt.Sprintf("unknown aggregation %q", cfg.agg))
	}
	switch opt.Outliers {
	case SwitchScheme:
	case SwitchOn:
		cfg.outliers = true
	case SwitchOff:
		cfg.outliers = false
	default:
		bad("outliers", "invalid_switch", fmt.Sprintf("未知的开关值 %q", opt.Outliers), fmt.Sprintf("unknown switch value %q", opt.Outliers))
	}
	dimIndex := make(map[string]int, len(s.Dimensions))
	cfg.dimW = make([]float64, len(s.Dimensions))
	for d, dim := range s.Dimensions {
		dimIndex[dim.Code] = d
		cfg.dimW[d] = dim.Weight
	}
	for _, code := range sortedCodes(opt.DimensionWeights) {
		w := opt.DimensionWeights[code]
		d, ok := dimIndex[code]
		switch {
		case !ok:
			bad("dimension_weights."+code, "unknown_dimension", "未知的维度："+code, "unknown dimension: "+code)
		case !finite(w) || w < 0:
			bad("dimension_weights."+code, "invalid_weight", "权重必须是非负有限数", "weight must be a finite number, not negative")
		default:
			cfg.dimW[d] = w
		}
	}
	indIndex := make(map[string]int, len(s.Indicators))
	cfg.inds = make([]indConf, len(s.Indicators))
	for j := range s.Indicators {
		ind := &s.Indicators[j]
		indIndex[ind.Code] = j
		c := indConf{ind: ind, dim: -1, w: ind.Weight, norm: ind.Normalisation, policy: ind.Missing}
		if d, ok := dimIndex[ind.Dimension]; ok {
			c.dim = d
		}
		if opt.NoImputation {
			c.policy = scheme.MissingReweight
		}
		cfg.inds[j] = c
	}
	for _, code := range sortedCodes(opt.IndicatorWeights) {
		w := opt.IndicatorWeights[code]
		j, ok := indIndex[code]
		switch {
		case !ok:
			bad("indicator_weights."+code, "unknown_indicator", "未知的指标："+code, "unknown indicator: "+code)
		case !finite(w) || w < 0:
			bad("indicator_weights."+code, "invalid_weight", "权重必须是非负有限数", "weight must be a finite number, not negative")
		case cfg.inds[j].dim < 0 && w != 0:
			bad("indicator_weights."+code, "missing_dimension", "不属于任何维度的指标不能赋权", "an indicator without a dimension cannot have a weight")
		default:
			cfg.inds[j].w = w
		}
	}
	for _, code := range sortedCodes(opt.Normalisation) {
		n := opt.Normalisation[code]
		j, ok := indIndex[code]
		if !ok {
			bad("normalisation."+code, "unknown_indicator", "未知的指标："+code, "unknown indicator: "+code)
			continue
		}
		if fe := checkNormalisation(n); fe != nil {
			bad("normalisation."+code+"."+fe.Field, fe.Code, fe.Message, fe.MessageEn)
			continue
		}
		cfg.inds[j].norm = n
	}
	for j := range cfg.inds {
		c := &cfg.inds[j]
		c.method = c.norm.Method
		c.scored = c.dim >= 0 && c.w > 0 && cfg.dimW[c.dim] > 0
		if c.scored && c.method == "" {
			bad("normalisation."+c.ind.Code, "required", "有权重的指标必须指定标准化方法", "an indicator with a weight needs a normalisation method")
		}
		c.dir = 1
		if c.ind.Direction == scheme.DirectionDown {
			c.dir = -1
		}
		if c.method == scheme.MethodDTF && c.norm.Worst != nil && c.norm.Best != nil {
			c.dir = 1
			if *c.norm.Best < *c.norm.Worst {
				c.dir = -1
			}
		}
	}
	if err := fault.Invalid(errs...); err != nil {
		return config{}, fmt.Errorf("evaluation options: %w", err)
	}
	return cfg, nil
}

// checkNormalisation checks an override the way scheme validation checks a
// scheme's own normalisation.
func checkNormalisation(n scheme.Normalisation) *fault.FieldError {
	fe := func(field, code, zh, en string) *fault.FieldError {
		return &fault.FieldError{Field: field, Code: code, Message: zh, MessageEn: en}
	}
	ok := func(v *float64) bool { return v != nil && finite(*v) }
	switch n.Method {
	case scheme.MethodGoalposts:
		if !ok(n.Lower) || !ok(n.Upper) || *n.Lower >= *n.Upper {
			return fe("upper", "invalid_bounds", "目标值法需要有限的 lower < upper", "goalposts need finite lower < upper")
		}
	case scheme.MethodDTF:
		if !ok(n.Worst) || !ok(n.Best) || *n.Worst == *n.Best {
			return fe("best", "invalid_bounds", "前沿距离法需要有限且不相等的 worst 与 best", "dtf needs finite, different worst and best")
		}
	case scheme.MethodMinMax, scheme.MethodZScore, scheme.MethodRank, scheme.MethodBinary:
	default:
		return fe("method", "unknown_method", fmt.Sprintf("未知的标准化方法 %q", n.Method), fmt.Sprintf("unknown normalisation method %q", n.Method))
	}
	return nil
}

func sortedCodes[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
