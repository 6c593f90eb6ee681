// The per-region summary of a sensitivity analysis's draws.

package engine

import (
	"slices"
	"sync"
	"sync/atomic"
)

// summarise turns the draws into per-region statistics, in blocks of
// regions on opt.Workers goroutines.
func (pl *sensPlan) summarise(nominal Result, ranks []int32, grades []int8) []RegionSensitivity {
	draws, nr, ng := pl.opt.Draws, pl.nr, pl.ng
	out := make([]RegionSensitivity, nr)
	probs := make([]GradeProbability, nr*ng)
	const block = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(pl.opt.Workers, (nr+block-1)/block)) {
		wg.Go(func() {
			col := make([]int32, block*draws)
			n := make([]int, block)
			counts := make([]int, block*(ng+1)) // per region: each grade, then ungraded
			for {
				r0 := int(next.Add(block) - block)
				if r0 >= nr {
					return
				}
				r1 := min(r0+block, nr)
				// Gather the block's ranks and count its grades, a row of
				// the block at a time.
				clear(n)
				clear(counts)
				for i := range draws {
					row := i * nr
					for r, rk := range ranks[row+r0 : row+r1] {
						if rk > 0 {
							col[r*draws+n[r]] = rk
							n[r]++
						}
					}
					for r, g := range grades[row+r0 : row+r1] {
						if g < 0 {
							counts[r*(ng+1)+ng]++
						} else {
							counts[r*(ng+1)+int(g)]++
						}
					}
				}
				for r := r0; r < r1; r++ {
					k := r - r0
					rs := &out[r]
					nom := &nominal.Regions[r]
					rs.Code, rs.Name = nom.Code, nom.Name
					rs.NominalScore, rs.NominalRank, rs.NominalGrade = nom.Score, nom.Rank, nom.Grade
					ranked := col[k*draws : k*draws+n[k]]
					slices.Sort(ranked)
					rs.RankedDraws = len(ranked)
					if len(ranked) > 0 {
						rs.RankP5 = int(ranked[nearestRank(5, len(ranked))])
						rs.MedianRank = int(ranked[nearestRank(50, len(ranked))])
						rs.RankP95 = int(ranked[nearestRank(95, len(ranked))])
					}
					cnt := counts[k*(ng+1) : (k+1)*(ng+1)]
					rs.Grades = probs[r*ng : (r+1)*ng : (r+1)*ng]
					for g := range ng {
						rs.Grades[g] = GradeProbability{Grade: pl.p.grades[g].Code, Probability: float64(cnt[g]) / float64(draws)}
					}
					rs.Ungraded = float64(cnt[ng]) / float64(draws)
					rs.NominalProbability = rs.Ungraded
					if g := pl.p.gradeIndex(nom.Grade); nom.Grade != "" && g >= 0 {
						rs.NominalProbability = rs.Grades[g].Probability
					}
					rs.Borderline = rs.NominalProbability < BorderlineProbability
				}
			}
		})
	}
	wg.Wait()
	return out
}

// nearestRank returns the index in n sorted values of their pct-th
// percentile by the nearest-rank method: the ⌈pct·n/100⌉-th smallest.
func nearestRank(pct, n int) int {
	k := (pct*n + 99) / 100
	return min(max(k, 1), n) - 1
}
