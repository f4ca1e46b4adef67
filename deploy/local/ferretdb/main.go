// Command qloop-ferretdb runs FerretDB 1.24 (SQLite backend) on loopback for
// local development and CI, where no MongoDB package or Docker engine exists.
//
// It embeds FerretDB's public package instead of `go install ...cmd/ferretdb`
// because that binary panics at start: its build/version/version.txt is not
// part of the published module.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // profiles at -debug-listen, for bench/ (what the database spends its CPU on)
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data", "state/ferretdb", "directory for the SQLite databases")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	indexEvery := flag.Duration("index-id-every", time.Second,
		"how often to give new tables an index their _id lookups use (idindex.go); 0: never")
	debugListen := flag.String("debug-listen", "", "address for Go's /debug/pprof/ (off when empty)")
	flag.Parse()

	if *debugListen != "" {
		go func() {
			fmt.Fprintln(os.Stderr, "qloop-ferretdb: debug server:", http.ListenAndServe(*debugListen, nil))
		}()
	}

	if err := run(*listen, *dataDir, *logLevel, *indexEvery); err != nil {
		fmt.Fprintln(os.Stderr, "qloop-ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, dataDir, logLevel string, indexEvery time.Duration) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level %q: %w", logLevel, err)
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	if err = os.MkdirAll(abs, 0o700); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if indexEvery > 0 {
		go watchIDIndexes(ctx, abs, indexEvery, logger)
	}

	logger.Warn("listening", slog.String("uri", f.MongoDBURI()), slog.String("data", abs))
	return f.Run(ctx)
}
