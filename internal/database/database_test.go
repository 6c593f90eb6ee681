package database_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, dialect, contains string
	}{
		{"./data/ipeval.db", database.SQLite, "_txlock=immediate"},
		{"sqlite:/tmp/x.db", database.SQLite, "file:/tmp/x.db?"},
		{"file:/tmp/x.db?cache=shared", database.SQLite, "foreign_keys"},
		{"root@tcp(127.0.0.1:3306)/ipeval", database.MySQL, "parseTime=true"},
		{"mysql://root@tcp(127.0.0.1:3306)/ipeval", database.MySQL, "collation=utf8mb4_unicode_ci"},
		{"mysql://u:p@db.example:3307/ipeval", database.MySQL, "u:p@tcp(db.example:3307)/ipeval"},
		{"mysql://u@db/ipeval", database.MySQL, "tcp(db:3306)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := database.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Dialect != tt.dialect || !strings.Contains(got.DSN, tt.contains) {
				t.Errorf("Parse(%q) = %+v, want dialect %s and DSN containing %q", tt.in, got, tt.dialect, tt.contains)
			}
		})
	}
	if _, err := database.Parse("  "); err == nil {
		t.Error("empty address accepted")
	}
}

func TestMigrations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		states, err := database.Status(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range states {
			if !s.Applied {
				t.Errorf("migration %s not applied", s.ID)
			}
		}
		if err := database.Migrate(ctx, db); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		if p, err := database.Pending(ctx, db); err != nil || len(p) != 0 {
			t.Fatalf("pending = %v, %v", p, err)
		}
		for _, table := range []string{"regions", "organisations", "users", "api_tokens", "sessions", "cycles", "jobs", "audit_log", "schemes"} {
			if !db.Migrator().HasTable(table) {
				t.Errorf("table %s missing", table)
			}
		}
		if !db.Migrator().HasColumn("cycles", "scheme_id") {
			t.Error("cycles.scheme_id missing")
		}
	})
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		row := map[string]any{"at": time.Now().UTC(), "user_id": "", "username": "u", "role": "admin", "action": "x",
			"object": "o", "result": "success", "status": 200, "client_ip": "127.0.0.1", "request_id": "r", "detail": ""}
		if err := db.Table("audit_log").Create(row).Error; err != nil {
			t.Fatalf("insert: %v", err)
		}
		if err := db.Exec("UPDATE audit_log SET result = 'failure'").Error; err == nil {
			t.Error("UPDATE of audit_log succeeded")
		}
		if err := db.Exec("DELETE FROM audit_log").Error; err == nil {
			t.Error("DELETE from audit_log succeeded")
		}
		var n int64
		db.Table("audit_log").Where("result = ?", "success").Count(&n)
		if n != 1 {
			t.Errorf("rows with original result = %d, want 1", n)
		}
	})
}

// stamp is a row of the cycles table with GORM-managed timestamps.
type stamp struct {
	ID        string `gorm:"primaryKey"`
	Year      int
	Name      string
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (stamp) TableName() string { return "cycles" }

// TestTimesStoredInUTC runs with the process in China Standard Time and
// checks that timestamps GORM sets are written and read back in UTC.
func TestTimesStoredInUTC(t *testing.T) {
	local := time.Local
	time.Local = time.FixedZone("CST", 8*3600)
	t.Cleanup(func() { time.Local = local })
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		before := time.Now()
		if err := db.Create(&stamp{ID: "c1", Year: 2026, Name: "n", Status: "draft"}).Error; err != nil {
			t.Fatal(err)
		}
		var got stamp
		if err := db.Take(&got, "id = ?", "c1").Error; err != nil {
			t.Fatal(err)
		}
		if got.CreatedAt.Location() != time.UTC || got.CreatedAt.Before(before.Add(-time.Second)) || got.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Fatalf("created_at read back as %v, want now in UTC", got.CreatedAt)
		}
		var text string
		if err := db.Raw("SELECT CAST(created_at AS CHAR) FROM cycles WHERE id = 'c1'").Scan(&text).Error; err != nil {
			t.Fatal(err)
		}
		if want := got.CreatedAt.Format("2006-01-02 15:04"); !strings.HasPrefix(text, want) || strings.Contains(text, "+08:00") {
			t.Fatalf("stored %q, want UTC wall time %s", text, want)
		}
	})
}

// TestSQLiteOptions checks that every connection option reaches SQLite, also
// for a file whose path holds URI characters.
func TestSQLiteOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a#b%c", "ipeval.db")
	target, err := database.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(context.Background(), target, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	var fk, timeout int
	var mode string
	db.Raw("PRAGMA foreign_keys").Scan(&fk)
	db.Raw("PRAGMA busy_timeout").Scan(&timeout)
	db.Raw("PRAGMA journal_mode").Scan(&mode)
	if fk != 1 || timeout != 10000 || mode != "wal" {
		t.Fatalf("foreign_keys=%d busy_timeout=%d journal_mode=%s", fk, timeout, mode)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
	// Immediate transactions: a second writer waits instead of failing
	// when the first upgrades its lock.
	if err := database.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			errs <- db.Transaction(func(tx *gorm.DB) error {
				var n int64
				if err := tx.Table("cycles").Count(&n).Error; err != nil {
					return err
				}
				time.Sleep(50 * time.Millisecond)
				return tx.Table("cycles").Create(map[string]any{"id": fmt.Sprint("c", i), "year": 2000 + i, "name": "n", "status": "draft",
					"created_at": time.Now().UTC(), "updated_at": time.Now().UTC()}).Error
			})
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent read-then-write transactions: %v", err)
		}
	}
}

// TestJobKindsRenamed checks migration 0010 on a database of the version
// before it: the jobs of the old kind names, whatever their status, take
// the names kinds have now, and other kinds are left alone.
func TestJobKindsRenamed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		// Back to the version before 0010: it has renamed nothing yet.
		if err := db.Exec("DELETE FROM schema_migrations WHERE id = ?", "0010_job_kinds").Error; err != nil {
			t.Fatal(err)
		}
		renamed := map[string]string{
			"evaluation.run": "evaluation:run",
			"survey.ingest":  "surveys:ingest",
			"reports.render": "reports:render",
			"audit:export":   "audit:export",
			"test.other":     "test.other",
		}
		now := time.Now().UTC()
		for old := range renamed {
			for _, status := range []string{"queued", "failed"} {
				row := map[string]any{"id": old + "/" + status, "kind": old, "payload": "{}", "status": status,
					"result": "", "created_at": now, "updated_at": now}
				if err := db.Table("jobs").Create(row).Error; err != nil {
					t.Fatalf("insert %s job: %v", old, err)
				}
			}
		}
		kinds := func() map[string]string {
			t.Helper()
			var rows []struct{ ID, Kind string }
			if err := db.Table("jobs").Select("id, kind").Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range rows {
				got[r.ID] = r.Kind
			}
			return got
		}

		if err := database.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		got := kinds()
		for old, want := range renamed {
			for _, status := range []string{"queued", "failed"} {
				if k := got[old+"/"+status]; k != want {
					t.Errorf("%s job of kind %s now of kind %q, want %q", status, old, k, want)
				}
			}
		}
		if p, err := database.Pending(ctx, db); err != nil || len(p) != 0 {
			t.Fatalf("pending = %v, %v", p, err)
		}
	})
}

// TestCollectionDeadline checks migration 0011 on a database of the
// version before it: cycles gain a nullable collection_deadline, existing
// cycles have none, and a day stored there reads back as the same day.
func TestCollectionDeadline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		// Back to the version before 0011.
		if err := db.Migrator().DropColumn(&deadlineCycle{}, "CollectionDeadline"); err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("DELETE FROM schema_migrations WHERE id = ?", "0011_collection_deadline").Error; err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		old := map[string]any{"id": "c-old", "year": 2031, "name": "old", "status": "collecting", "created_at": now, "updated_at": now}
		if err := db.Table("cycles").Create(old).Error; err != nil {
			t.Fatalf("insert cycle: %v", err)
		}
		if err := database.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		if !db.Migrator().HasColumn("cycles", "collection_deadline") {
			t.Fatal("cycles.collection_deadline missing")
		}
		var got deadlineCycle
		if err := db.Table("cycles").Where("id = ?", "c-old").Take(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got.CollectionDeadline != nil {
			t.Errorf("existing cycle has deadline %v, want none", got.CollectionDeadline)
		}
		day := time.Date(2031, 5, 31, 0, 0, 0, 0, time.UTC)
		if err := db.Table("cycles").Where("id = ?", "c-old").Update("collection_deadline", day).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Table("cycles").Where("id = ?", "c-old").Take(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got.CollectionDeadline == nil || got.CollectionDeadline.UTC().Format("2006-01-02") != "2031-05-31" {
			t.Errorf("deadline read back as %v, want 2031-05-31", got.CollectionDeadline)
		}
	})
}

// deadlineCycle is a cycle as migration 0011 adds to it.
type deadlineCycle struct {
	ID                 string
	CollectionDeadline *time.Time `gorm:"type:date"`
}

func (deadlineCycle) TableName() string { return "cycles" }
