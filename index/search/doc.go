// Package search is the log's inverted index: for every chunk of 65,536
// consecutive seqs it maps field values, free-text tokens and IP prefixes
// to the positions of the events that have them, and keeps each event's
// time, so that the query executor can answer searches with bitmap
// operations and verify only the candidates on the records.
//
// The index is derived data. The log's segments are the authority; the
// index MUST NOT be treated as one. Chunk files are written once and never
// changed; the newest, partial chunk lives only in memory and is rebuilt
// after a restart by the caller re-Adding from Covered(). A chunk file that
// fails its checks at Open is removed, with every later one, and rebuilt
// the same way.
package search
