// Command tlogoracle checks what Kluis's vault/tlog.py, vault/note.py, vault/checkpoint.py and
// vault/cosignature.py produce against Go's golang.org/x/mod/sumdb/{tlog,note}, the code behind
// the Go checksum database (Debian package golang-golang-x-mod-dev). It is a test oracle, run by
// tests/vault/test_tlog_interop.py:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o tlogoracle .
//	tlogoracle < request.json > answer.json
//
// The request names entries, tree hashes, proofs, tiles and signed notes made by the Python
// code; the answer says, for each, whether Go accepts it, and gives Go's own tree hashes, proofs,
// tile paths, tile data and note signatures so the test can compare them byte for byte.
//
// Go's sumdb/note knows only Ed25519 note keys (type 0x01). Witness cosignatures (type 0x04,
// C2SP tlog-cosignature) are checked by the small verifier below, written here from the C2SP
// text with Go's crypto/ed25519, and plugged into note.Open as any note.Verifier.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Entries    []string `json:"entries"` // hex
	TreeHashes []struct {
		Size int64  `json:"size"`
		Hash string `json:"hash"`
	} `json:"tree_hashes"`
	Inclusion []struct {
		Index int64    `json:"index"`
		Size  int64    `json:"size"`
		Leaf  string   `json:"leaf"` // hex entry (Go hashes it)
		Proof []string `json:"proof"`
		Root  string   `json:"root"`
	} `json:"inclusion"`
	Consistency []struct {
		Old     int64    `json:"old"`
		New     int64    `json:"new"`
		OldRoot string   `json:"old_root"`
		NewRoot string   `json:"new_root"`
		Proof   []string `json:"proof"`
	} `json:"consistency"`
	Tiles []struct {
		Level int   `json:"level"`
		Index int64 `json:"index"`
		Width int   `json:"width"`
		Size  int64 `json:"size"` // the tree the tile belongs to
	} `json:"tiles"`
	Notes []struct {
		Vkeys []string `json:"vkeys"` // type 0x01 (sumdb/note) or 0x04 (cosignature, below)
		Note  string   `json:"note"`
	} `json:"notes"`
	Sign []struct {
		Skey string `json:"skey"` // PRIVATE+KEY+<name>+<hex id>+base64(0x01 || seed)
		Text string `json:"text"`
	} `json:"sign"`
}

type noteAnswer struct {
	OK       bool     `json:"ok"`
	Error    string   `json:"error,omitempty"`
	Text     string   `json:"text,omitempty"`
	Verified []string `json:"verified,omitempty"` // names of the keys whose signatures verified
	// When the text is a checkpoint: its size, and whether its root is Go's tree hash.
	Size     int64 `json:"size,omitempty"`
	RootIsGo bool  `json:"root_is_go"`
}

type answer struct {
	TreeHashes  []bool       `json:"tree_hashes"`
	GoRoots     []string     `json:"go_roots"`
	Inclusion   []bool       `json:"inclusion"`
	GoInclusion [][]string   `json:"go_inclusion"`
	Consistency []bool       `json:"consistency"`
	GoConsist   [][]string   `json:"go_consistency"`
	TilePaths   []string     `json:"tile_paths"`
	TileData    []string     `json:"tile_data"`
	Notes       []noteAnswer `json:"notes"`
	Signed      []string     `json:"signed"`
}

// hashStorage is every stored hash of the tree, in sumdb's linear order.
type hashStorage []tlog.Hash

func (s hashStorage) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = s[x]
	}
	return out, nil
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		fail(err)
	}
	return b
}

func hashOf(s string) tlog.Hash {
	var h tlog.Hash
	b := unhex(s)
	if len(b) != tlog.HashSize {
		fail(fmt.Errorf("hash of %d bytes", len(b)))
	}
	copy(h[:], b)
	return h
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		out[i] = hashOf(s)
	}
	return out
}

func hexes(list []tlog.Hash) []string {
	out := make([]string, len(list))
	for i, h := range list {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tlogoracle:", err)
	os.Exit(2)
}

// cosigVerifier checks C2SP tlog-cosignature v1 (Ed25519) signatures: the signature is an 8-byte
// big-endian timestamp and an Ed25519 signature over "cosignature/v1\ntime <t>\n" || note text.
type cosigVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	if t > 1<<63-1 {
		return false
	}
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(v.key, signed, sig[8:])
}

// newVerifier reads a vkey: type 0x01 through sumdb/note, type 0x04 here.
func newVerifier(vkey string) (note.Verifier, error) {
	parts := strings.SplitN(vkey, "+", 3) // the base64 key may itself contain '+'
	if len(parts) == 3 {
		raw, err := base64.StdEncoding.DecodeString(parts[2])
		if err == nil && len(raw) == 33 && raw[0] == 0x04 {
			h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
			id := binary.BigEndian.Uint32(h[:4])
			if fmt.Sprintf("%08x", id) != parts[1] {
				return nil, fmt.Errorf("cosignature vkey: key ID does not match")
			}
			return &cosigVerifier{name: parts[0], hash: id, key: ed25519.PublicKey(raw[1:])}, nil
		}
	}
	return note.NewVerifier(vkey)
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail(err)
	}
	var ans answer

	// Build the tree the way the Go checksum database stores it.
	var storage hashStorage
	for i, e := range req.Entries {
		hs, err := tlog.StoredHashes(int64(i), unhex(e), storage)
		if err != nil {
			fail(err)
		}
		storage = append(storage, hs...)
	}
	size := int64(len(req.Entries))
	goRoot := func(n int64) tlog.Hash {
		h, err := tlog.TreeHash(n, storage)
		if err != nil {
			fail(err)
		}
		return h
	}

	for _, th := range req.TreeHashes {
		h := goRoot(th.Size)
		ans.TreeHashes = append(ans.TreeHashes, h == hashOf(th.Hash))
		ans.GoRoots = append(ans.GoRoots, hex.EncodeToString(h[:]))
	}

	for _, p := range req.Inclusion {
		err := tlog.CheckRecord(hashes(p.Proof), p.Size, hashOf(p.Root), p.Index, tlog.RecordHash(unhex(p.Leaf)))
		ans.Inclusion = append(ans.Inclusion, err == nil)
		var mine []string
		if p.Index < p.Size && p.Size <= size {
			proof, err := tlog.ProveRecord(p.Size, p.Index, storage)
			if err != nil {
				fail(err)
			}
			mine = hexes(proof)
		}
		ans.GoInclusion = append(ans.GoInclusion, mine)
	}

	for _, c := range req.Consistency {
		err := tlog.CheckTree(hashes(c.Proof), c.New, hashOf(c.NewRoot), c.Old, hashOf(c.OldRoot))
		ans.Consistency = append(ans.Consistency, err == nil)
		var mine []string
		if 0 < c.Old && c.Old <= c.New && c.New <= size {
			proof, err := tlog.ProveTree(c.New, c.Old, storage)
			if err != nil {
				fail(err)
			}
			mine = hexes(proof)
		}
		ans.GoConsist = append(ans.GoConsist, mine)
	}

	for _, t := range req.Tiles {
		tile := tlog.Tile{H: 8, L: t.Level, N: t.Index, W: t.Width}
		ans.TilePaths = append(ans.TilePaths, tile.Path())
		data, err := tlog.ReadTileData(tile, storage)
		if err != nil {
			fail(err)
		}
		ans.TileData = append(ans.TileData, hex.EncodeToString(data))
	}

	for _, n := range req.Notes {
		var vs []note.Verifier
		for _, k := range n.Vkeys {
			v, err := newVerifier(k)
			if err != nil {
				fail(fmt.Errorf("vkey %q: %v", k, err))
			}
			vs = append(vs, v)
		}
		opened, err := note.Open([]byte(n.Note), note.VerifierList(vs...))
		if err != nil {
			ans.Notes = append(ans.Notes, noteAnswer{OK: false, Error: err.Error()})
			continue
		}
		a := noteAnswer{OK: true, Text: opened.Text}
		for _, s := range opened.Sigs {
			a.Verified = append(a.Verified, s.Name)
		}
		// A checkpoint: origin, size and base64 root on three lines.
		lines := strings.Split(opened.Text, "\n")
		if len(lines) >= 4 {
			if n, err := strconv.ParseInt(lines[1], 10, 64); err == nil && n > 0 && n <= size {
				root, err := base64.StdEncoding.DecodeString(lines[2])
				h := goRoot(n)
				a.Size = n
				a.RootIsGo = err == nil && bytes.Equal(root, h[:])
			}
		}
		ans.Notes = append(ans.Notes, a)
	}

	for _, s := range req.Sign {
		signer, err := note.NewSigner(s.Skey)
		if err != nil {
			fail(err)
		}
		msg, err := note.Sign(&note.Note{Text: s.Text}, signer)
		if err != nil {
			fail(err)
		}
		ans.Signed = append(ans.Signed, string(msg))
	}

	if err := json.NewEncoder(os.Stdout).Encode(&ans); err != nil {
		fail(err)
	}
}
