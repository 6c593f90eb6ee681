// The draw loop of a sensitivity analysis: workers that score each draw by
// the lean path.

package engine

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// column is one indicator's use and score (or log1p score) in one draw.
type column struct {
	use   []uint8
	score []float64
}

// sensWorker scores draws; nothing in it is shared.
type sensWorker struct {
	pl   *sensPlan
	src  *rand.PCG
	rng  *rand.Rand
	ds   *drawSpec
	cols []column

	// dimension-major accumulators (index d*nr+r), as in run.aggregate
	wA, wE, wO, acc []float64
	score           []float64
	status          []uint8
	order           []int32

	// survey draws: a private copy of the cells, runs to normalise the
	// drawn columns, their log1p scores and the final-grade table
	cells []cell
	prep  Prepared
	runs  [2]*run
	lg    [][]float64
	fin   []int8
}

const (
	leanOK uint8 = iota
	leanInsufficient
	leanNoWeight
)

func (pl *sensPlan) newWorker() *sensWorker {
	nr, nd := pl.nr, pl.nd
	src := rand.NewPCG(0, 0)
	w := &sensWorker{pl: pl, src: src, rng: rand.New(src), ds: pl.newDrawSpec(), cols: make([]column, pl.ni),
		wA: make([]float64, nd*nr), wE: make([]float64, nd*nr), wO: make([]float64, nd*nr), acc: make([]float64, nd*nr),
		score: make([]float64, nr), status: make([]uint8, nr), order: make([]int32, 0, nr), fin: pl.finalOf}
	if len(pl.targets) > 0 {
		w.prep = *pl.p
		w.cells = slices.Clone(pl.p.cells)
		w.prep.cells = w.cells
		for v, vr := range pl.variants {
			if vr != nil {
				w.runs[v] = newColumnRun(&w.prep, vr.cfg)
			}
		}
		if pl.geometry {
			w.lg = make([][]float64, len(pl.surveyInd))
			for k := range w.lg {
				w.lg[k] = make([]float64, nr)
			}
		}
		if len(pl.ruleRegs) > 0 {
			w.fin = slices.Clone(pl.finalOf)
		}
	}
	return w
}

// draw scores draw i into rank and grade (one slot per region).
func (w *sensWorker) draw(i int, rank []int32, grade []int8) error {
	pl, ds := w.pl, w.ds
	pl.fill(i, w.src, w.rng, ds)
	if err := w.columns(); err != nil {
		return err
	}
	w.aggregate()
	w.rank(rank, grade)
	return nil
}

// columns points w.cols at the draw's normalised columns, normalising the
// drawn survey columns again.
func (w *sensWorker) columns() error {
	pl, ds := w.pl, w.ds
	nr := pl.nr
	v := 0
	if ds.swap {
		v = 1
	}
	geometric := pl.agg[b2i(ds.other)] == scheme.AggregationGeometric
	vr := pl.variants[v]
	for j := range pl.ni {
		c := column{use: vr.use[j*nr : (j+1)*nr], score: vr.score[j*nr : (j+1)*nr]}
		if geometric {
			c.score = vr.lg[j*nr : (j+1)*nr]
		}
		w.cols[j] = c
	}
	if len(pl.targets) == 0 {
		return nil
	}
	for t, tg := range pl.targets {
		w.cells[tg.j*nr+tg.r].x = ds.values[t]
	}
	e := w.runs[v]
	for k, j := range pl.surveyInd {
		e.normalise(j)
		c := column{use: e.use[j*nr : (j+1)*nr], score: e.score[j*nr : (j+1)*nr]}
		if geometric {
			for r, s := range c.score {
				w.lg[k][r] = math.Log1p(s)
			}
			c.score = w.lg[k]
		}
		w.cols[j] = c
	}
	// normalise records warnings and treatments the draw does not read.
	e.warnings = e.warnings[:0]
	for r := range e.res {
		e.res[r].Warnings = e.res[r].Warnings[:0]
	}
	for _, r := range pl.ruleRegs {
		// A rule that fails in a draw is left out of that draw; the
		// nominal run reports the rules that fail on the data as given.
		fired, _ := w.prep.regionRules(pl.rules, pl.ruleReads, r)
		for b := range pl.ng {
			f, _ := w.prep.applyRules(fired, b)
			w.fin[r*pl.ng+b] = int8(f)
		}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// aggregate computes every region's composite score and status for the
// draw exactly as run.aggregate does — the same operations on the same
// numbers in the same order — without anything the draw does not read.
func (w *sensWorker) aggregate() {
	pl, ds := w.pl, w.ds
	nr := pl.nr
	noImp := ds.noImp
	clear(w.wA)
	clear(w.wE)
	clear(w.wO)
	clear(w.acc)
	// Weights scored per region and dimension: all applicable (A), with
	// a score (E), observed (O).
	for j := range pl.ni {
		if !pl.scored[j] {
			continue
		}
		d, wt := pl.dim[j], ds.indW[j]
		wA, wE, wO := w.wA[d*nr:(d+1)*nr], w.wE[d*nr:(d+1)*nr], w.wO[d*nr:(d+1)*nr]
		use := w.cols[j].use[:nr]
		for r, u := range use {
			switch u &^ useTreated {
			case useObserved:
				wO[r] += wt
				wE[r] += wt
				wA[r] += wt
			case useMean, useZero:
				if !noImp {
					wE[r] += wt
				}
				wA[r] += wt
			case useReweight:
				wA[r] += wt
			}
		}
	}
	// Dimension scores: the within-dimension weighted terms.
	for j := range pl.ni {
		if !pl.scored[j] {
			continue
		}
		d, wt := pl.dim[j], ds.indW[j]
		wE, acc := w.wE[d*nr:(d+1)*nr], w.acc[d*nr:(d+1)*nr]
		use, sc := w.cols[j].use[:nr], w.cols[j].score[:nr]
		for r, u := range use {
			switch u &^ useTreated {
			case useObserved:
			case useMean, useZero:
				if noImp {
					continue
				}
			default:
				continue
			}
			wd := wt / wE[r]
			acc[r] += wd * sc[r]
		}
	}
	geometric := pl.agg[b2i(ds.other)] == scheme.AggregationGeometric
	for r := range nr {
		if pl.p.unscorableRegion(r) {
			w.status[r], w.score[r] = leanNoWeight, 0 // never ranked, as in Evaluate
			continue
		}
		sumA, sumE := 0.0, 0.0
		for d, v := range ds.dimW {
			if w.wA[d*nr+r] > 0 {
				sumA += v
			}
			if w.wE[d*nr+r] > 0 {
				sumE += v
			}
		}
		cov := 0.0
		if sumA > 0 {
			for d, v := range ds.dimW {
				if wa := w.wA[d*nr+r]; wa > 0 {
					cov += v / sumA * (w.wO[d*nr+r] / wa)
				}
			}
			cov = min(max(cov, 0), 1)
		}
		if sumE <= 0 {
			w.status[r], w.score[r] = leanNoWeight, 0
			continue
		}
		composite, logC := 0.0, 0.0
		for d, v := range ds.dimW {
			if w.wE[d*nr+r] <= 0 {
				continue
			}
			dw := v / sumE
			if geometric {
				logC += dw * w.acc[d*nr+r]
			} else {
				composite += dw * w.acc[d*nr+r]
			}
		}
		if geometric {
			composite = math.Expm1(logC)
		}
		w.score[r] = clamp100(composite)
		w.status[r] = leanOK
		if cov < pl.threshold-1e-12 {
			w.status[r] = leanInsufficient
		}
	}
}

// rank ranks and grades the draw's graded regions as run.rank and run.grade
// do: rank 0 and grade −1 for a region not graded.
func (w *sensWorker) rank(rank []int32, grade []int8) {
	pl := w.pl
	order := w.order[:0]
	for r := range pl.nr {
		rank[r], grade[r] = 0, -1
		if w.status[r] == leanOK {
			order = append(order, int32(r))
		}
	}
	score := w.score
	// Evaluate sorts stably by score, highest first; ties keep region order.
	slices.SortFunc(order, func(a, b int32) int {
		sa, sb := score[a], score[b]
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return cmp.Compare(a, b)
	})
	for k, r := range order {
		rk := int32(k + 1)
		if k > 0 {
			prev := order[k-1]
			if score[prev]-score[r] <= bandTolerance {
				rk = rank[prev]
			}
		}
		rank[r] = rk
		b := pl.p.bandIndex(score[r])
		grade[r] = w.fin[int(r)*pl.ng+b]
	}
	w.order = order
}

// run scores every draw on opt.Workers goroutines, draw i into
// ranks[i*nr:] and grades[i*nr:].
func (pl *sensPlan) run(ctx context.Context, ranks []int32, grades []int8, progress func(done, total int)) error {
	draws, nr := pl.opt.Draws, pl.nr
	workers := max(1, min(pl.opt.Workers, draws))
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next, done atomic.Int64
		mu         sync.Mutex
		reported   int
		firstErr   error
		wg         sync.WaitGroup
	)
	report := func(d int) {
		if progress == nil || (d != draws && d*100/draws == (d-1)*100/draws) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if d > reported {
			reported = d
			progress(d, draws)
		}
	}
	for range workers {
		wg.Go(func() {
			w := pl.newWorker()
			for inner.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= draws {
					return
				}
				if err := w.draw(i, ranks[i*nr:(i+1)*nr], grades[i*nr:(i+1)*nr]); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				report(int(done.Add(1)))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstErr
}
