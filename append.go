package stele

// Sealed is the acknowledgement of an append: every event of the batch is
// durable and covered by Checkpoint, a signed C2SP checkpoint of the log at
// Size. It is the raw material of receipts (see Receipt): a client holding
// it can verify inclusion offline once it has the proofs.
type Sealed struct {
	Size       uint64   // tree size of Checkpoint
	Root       [32]byte // root hash of Checkpoint
	Checkpoint []byte   // the signed checkpoint note

	Events []Appended // one per event of the batch, in batch order
	ids    []byte     // backing store of the events' ids
}

// Appended is the fate of one event of a batch.
type Appended struct {
	Seq       uint64   // the event's log index
	LeafHash  [32]byte // RFC 6962 leaf hash of the canonical entry
	Duplicate bool     // the id was already in the log; nothing was appended
	idOff     uint32
	idLen     uint32
}

// AddEvent appends the fate of the next event of the batch. Storage drivers
// call it; id is copied.
func (s *Sealed) AddEvent(seq uint64, id []byte, leafHash [32]byte, duplicate bool) {
	s.Events = append(s.Events, Appended{
		Seq: seq, LeafHash: leafHash, Duplicate: duplicate,
		idOff: uint32(len(s.ids)), idLen: uint32(len(id)),
	})
	s.ids = append(s.ids, id...)
}

// ID returns the id of event i (valid until Reset).
func (s *Sealed) ID(i int) []byte {
	e := s.Events[i]
	return s.ids[e.idOff : e.idOff+e.idLen : e.idOff+e.idLen]
}

// Reset empties s, keeping its memory for reuse.
func (s *Sealed) Reset() {
	*s = Sealed{Events: s.Events[:0], ids: s.ids[:0]}
}
