// Package stele is the public API of stele, an immutable audit log.
//
// Events flow one way:
//
//	ingest → sequencer (batch, fsync, seal) → sealed log (entries + tiles +
//	checkpoints) → index → query → HTTP API / CLI
//
// This package owns the event model (Event, Record, Batch), its canonical
// encoding, receipts and the sentinel errors. It imports no storage driver:
// drivers (storage/local) import it.
package stele
