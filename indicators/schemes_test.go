package indicators_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

func TestSchemeVersions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store := indicators.NewSchemeStore(db)
		v1, err := store.Create(ctx, scheme.Default(), "")
		if err != nil || v1.Version != 1 {
			t.Fatalf("create: %+v, %v", v1, err)
		}
		got, err := store.Get(ctx, v1.ID)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := store.Decode(got)
		if err != nil || len(sc.Indicators) != len(scheme.Default().Indicators) {
			t.Fatalf("stored scheme reads back as %d indicators, %v", len(sc.Indicators), err)
		}

		// Unused: replaced in place.
		sc.Name = "山西省知识产权公共服务评价方案（修订）"
		out, created, err := store.Replace(ctx, v1.ID, sc, "")
		if err != nil || created || out.ID != v1.ID || out.Digest == v1.Digest {
			t.Fatalf("replace unused: %+v created=%v err=%v", out, created, err)
		}
		if cur, _ := store.Get(ctx, v1.ID); mustDecode(t, store, cur).Name != sc.Name {
			t.Fatal("a replaced scheme decodes to its old document")
		}
		first := mustDecode(t, store, out)
		first.Indicators[0].Weight = 99
		first.Rules = nil
		if again := mustDecode(t, store, out); again.Indicators[0].Weight == 99 || len(again.Rules) == 0 {
			t.Fatal("a caller's change to a decoded scheme reached the next caller")
		}

		// Scored with: a change makes version 2 and leaves version 1 alone.
		cs := cycles.NewStore(db)
		cy, err := cs.Create(ctx, cycles.Input{Year: 2026})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Table("cycles").Where("id = ?", cy.ID).Updates(map[string]any{"scheme_id": v1.ID, "status": "published", "updated_at": time.Now().UTC()}).Error; err != nil {
			t.Fatal(err)
		}
		sc.Name = "再次修订"
		v2, created, err := store.Replace(ctx, v1.ID, sc, "")
		if err != nil || !created || v2.Version != 2 || v2.ID == v1.ID {
			t.Fatalf("replace used: %+v created=%v err=%v", v2, created, err)
		}
		if again, _ := store.Get(ctx, v1.ID); again.Digest != out.Digest {
			t.Fatal("a scheme scored with was changed in place")
		}

		bad := scheme.Default()
		bad.Dimensions[0].Weight = -1
		if _, err := store.Create(ctx, bad, ""); !errors.Is(err, fault.ErrBadRequest) {
			t.Fatalf("invalid scheme stored: %v", err)
		}
		bad = scheme.Default()
		bad.Code = "other"
		if _, _, err := store.Replace(ctx, v1.ID, bad, ""); !errors.Is(err, fault.ErrBadRequest) {
			t.Fatalf("code change accepted: %v", err)
		}
		list, err := store.List(ctx)
		if err != nil || len(list) != 2 || list[0].Version != 2 {
			t.Fatalf("list: %+v, %v", list, err)
		}
	})
}

func mustDecode(t *testing.T, store *indicators.SchemeStore, st indicators.StoredScheme) scheme.Scheme {
	t.Helper()
	sc, err := store.Decode(st)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
