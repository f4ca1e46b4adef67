package main

// FerretDB 1.24's SQLite backend pushes a filter of exactly `{_id: <string|ObjectId>}`
// down as `WHERE _ferretdb_sjson->'$._id' = ?`, but the unique index it creates for `_id`
// is on `_ferretdb_sjson->"_id"`. SQLite matches index expressions by their text, so the
// index is never used: every lookup by `_id` scans the whole table and parses each
// document's JSON (`EXPLAIN QUERY PLAN` says `SCAN`; a CPU profile of the pipeline
// benchmark showed 45% of the server in `jsonTranslateTextToBlob`). Lookups by `_id` then
// cost time in proportion to the collection's size.
//
// The indexer adds, beside FerretDB's own, an index on the very expression the queries
// use, to every collection table, shortly after the table appears. FerretDB does not know
// about it (its metadata lists indexes from its own table), drops it with the table, and
// SQLite keeps it up to date. Production runs MongoDB, which needs none of this.

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB itself links
)

// indexSuffix names our index: `<table>__id_expr`.
const indexSuffix = "__id_expr"

// watchIDIndexes indexes new tables of every database under dir every `every` until ctx ends.
func watchIDIndexes(ctx context.Context, dir string, every time.Duration, logger *slog.Logger) {
	seen := map[string]time.Time{} // database file -> modification time of its WAL when checked
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			changed := modified(file)
			if last, ok := seen[file]; ok && !changed.After(last) {
				continue
			}
			n, err := indexFile(ctx, file)
			if err != nil {
				logger.Debug("id index pass", slog.String("file", file), slog.String("error", err.Error()))
				continue // tried again next time
			}
			seen[file] = changed
			if n > 0 {
				logger.Info("indexed _id lookups", slog.String("file", file), slog.Int("tables", n))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// modified is the later modification time of a database file and its write-ahead log
// (a new table is written to the log first).
func modified(file string) time.Time {
	var latest time.Time
	for _, name := range []string{file, file + "-wal"} {
		if info, err := os.Stat(name); err == nil && info.ModTime().After(latest) {
			latest = info.ModTime()
		}
	}
	return latest
}

// indexFile adds the missing indexes to one database file; how many it added.
func indexFile(ctx context.Context, file string) (int, error) {
	// mode=rw: a database dropped meanwhile is not created again.
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	rows, err := db.QueryContext(ctx, `
		SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (
			SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || ?
		)`, indexSuffix)
	if err != nil {
		return 0, err
	}
	var tables []string
	for rows.Next() {
		var table string
		if err = rows.Scan(&table); err != nil {
			rows.Close()
			return 0, err
		}
		tables = append(tables, table)
	}
	rows.Close()
	if err = rows.Err(); err != nil {
		return 0, err
	}

	for _, table := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`,
			table+indexSuffix, table)
		if _, err = db.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("%s: %w", table, err)
		}
	}
	return len(tables), nil
}
