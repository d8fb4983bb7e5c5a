package syslog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// errDesync means an octet-counted stream lost its framing: what follows
// cannot be split into messages, so the connection is closed.
var errDesync = errors.New("syslog: octet-counting framing lost")

// frame is one message as read off a stream. problem is "" for a complete
// message within the size limit; otherwise data is what was kept (at most
// the limit) and problem says why the message is incomplete.
type frame struct {
	data     []byte
	size     int64 // the message's full size in bytes
	oversize bool  // size > the limit; data is a prefix
	problem  string
}

// frameReader splits a TCP or TLS stream into messages. The first byte of
// the stream picks the framing for the whole connection (RFC 6587 §3.4): a
// digit means octet counting ("LEN SP MSG", RFC 6587 §3.4.1, RFC 5425 §4.3),
// anything else LF-delimited ("MSG LF", §3.4.2), which also accepts CR LF
// and a last message without LF.
type frameReader struct {
	r        *bufio.Reader
	max      int
	detected bool
	octet    bool
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next message. At a clean end of stream it returns
// io.EOF; a stream that ends inside a message returns that message's
// bytes with a problem and the error (io.ErrUnexpectedEOF or the read
// error). Empty LF-delimited lines are skipped.
func (f *frameReader) next() (frame, error) {
	if !f.detected {
		b, err := f.r.Peek(1)
		if err != nil {
			return frame{}, err
		}
		f.detected = true
		f.octet = b[0] >= '0' && b[0] <= '9'
	}
	if f.octet {
		return f.nextOctet()
	}
	for {
		fr, err := f.nextLine()
		if err == nil && fr.size == 0 {
			continue
		}
		return fr, err
	}
}

// maxLenDigits bounds MSG-LEN: ten digits are more than any limit.
const maxLenDigits = 10

func (f *frameReader) nextOctet() (frame, error) {
	var header []byte
	length := int64(0)
	for {
		c, err := f.r.ReadByte()
		if err != nil {
			if len(header) == 0 && err == io.EOF {
				return frame{}, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return frame{data: header, size: int64(len(header)), problem: "connection closed inside an octet count"}, err
		}
		if c == ' ' && len(header) > 0 {
			break
		}
		header = append(header, c)
		if c < '0' || c > '9' || len(header) > maxLenDigits || header[0] == '0' {
			return frame{data: header, size: int64(len(header)),
				problem: fmt.Sprintf("octet counting: bad MSG-LEN %q (RFC 6587 §3.4.1)", header)}, errDesync
		}
		length = length*10 + int64(c-'0')
	}
	keep := length
	if keep > int64(f.max) {
		keep = int64(f.max)
	}
	fr := frame{data: make([]byte, keep), size: length, oversize: length > int64(f.max)}
	n, err := io.ReadFull(f.r, fr.data)
	if err == nil && fr.oversize {
		var skipped int64
		skipped, err = io.CopyN(io.Discard, f.r, length-keep)
		n += int(skipped)
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if int64(n) < keep {
			fr.data = fr.data[:n]
		}
		fr.problem = fmt.Sprintf("connection closed after %d of %d bytes of a message", n, length)
		return fr, err
	}
	return fr, nil
}

func (f *frameReader) nextLine() (frame, error) {
	var fr frame
	for {
		chunk, err := f.r.ReadSlice('\n')
		fr.size += int64(len(chunk))
		if room := f.max + 2 - len(fr.data); room > 0 { // +2: the CR LF trimmed below
			fr.data = append(fr.data, chunk[:min(room, len(chunk))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			if fr.size > 0 {
				fr.problem = "connection failed inside a message"
			}
			return fr, err
		}
		// A complete line, or the stream's last bytes without LF.
		trimmed := int64(0)
		for _, end := range []byte{'\n', '\r'} {
			if len(fr.data) > 0 && fr.data[len(fr.data)-1] == end && (int64(len(fr.data)) == fr.size-trimmed) {
				fr.data = fr.data[:len(fr.data)-1]
				trimmed++
			}
		}
		fr.size -= trimmed
		if fr.size > int64(f.max) {
			fr.oversize = true
			fr.data = fr.data[:min(len(fr.data), f.max)]
		}
		if err == io.EOF && fr.size == 0 {
			return fr, io.EOF
		}
		return fr, nil
	}
}
