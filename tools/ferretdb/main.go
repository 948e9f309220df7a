// Command ferretdb-embedded runs FerretDB 1.x (embeddable package, SQLite backend)
// on a loopback port. Kept only for the evaluation recorded in docs/testing.md:
// scripts/services.sh starts mongo-java-server (tools/mongo-wire) instead.
//
//	FERRETDB_LISTEN=127.0.0.1:27018 FERRETDB_SQLITE_DIR=/path/to/dir ferretdb-embedded
package main

import (
	"context"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := getenv("FERRETDB_LISTEN", "127.0.0.1:27017")
	dir := getenv("FERRETDB_SQLITE_DIR", "ferretdb-data")

	abs, err := filepath.Abs(dir)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		log.Fatal(err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	log.Printf("FerretDB listening on %s, SQLite in %s", listen, abs)
	if err := f.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
