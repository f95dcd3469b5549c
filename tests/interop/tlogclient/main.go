// Command tlogclient checks a LIVE Kluis server's key transparency log with Go's
// golang.org/x/mod/sumdb/{note,tlog} (Debian package golang-golang-x-mod-dev), code that knows
// nothing of Kluis. It is run by tests/server/test_tlog_go_live.py:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o tlogclient .
//	tlogclient < request.json > answer.json
//
// It fetches the server's checkpoint (/log/checkpoint) and opens it with sumdb/note and the
// log's verifier key; reads the tree through the server's tiles (/log/tile/..., C2SP
// tlog-tiles: Go's "tile/8/L/N" paths without the "8/") with tlog.TileHashReader, which checks
// every tile against the checkpoint's root; recomputes the root; checks each inclusion proof
// the server handed out in a lookup (tlog.CheckRecord) against an entry read from the entry
// bundles; and checks the consistency proof from an older checkpoint (tlog.CheckTree), and
// the one Go computes itself from the tiles.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	URL       string `json:"url"` // the server's root, e.g. http://127.0.0.1:8000
	Token     string `json:"token"`
	Vkey      string `json:"vkey"`
	OldNote   string `json:"old_note"`
	Inclusion []struct {
		Index int64    `json:"index"`
		Proof []string `json:"proof"` // base64, as the lookup answer carries them
	} `json:"inclusion"`
	Consistency []string `json:"consistency"` // from the old checkpoint to the newest
}

type answer struct {
	Size            int64    `json:"size"`
	RootMatches     bool     `json:"root_matches"`
	Inclusion       []string `json:"inclusion"` // "ok" or Go's error, per proof
	Consistency     string   `json:"consistency"`
	GoConsistency   string   `json:"go_consistency"`
	TilesDownloaded int      `json:"tiles_downloaded"`
}

type client struct {
	base, token string
	tiles       int
}

func (c *client) get(path string) []byte {
	req, err := http.NewRequest("GET", c.base+"/log/"+path, nil)
	check(err)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	check(err)
	if resp.StatusCode != 200 {
		check(fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body))
	}
	return body
}

// tileReader serves Go's TileHashReader from the server's tiles.
type tileReader struct{ c *client }

func (r tileReader) Height() int { return 8 }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		path := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
		out[i] = r.c.get(path)
		r.c.tiles++
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func (c *client) entry(index int64) []byte {
	bundle := index / 256
	width := index%256 + 1
	path := tlog.Tile{H: 8, L: 0, N: bundle, W: int(width)}.Path()
	path = strings.Replace(path, "tile/8/0/", "tile/entries/", 1)
	data := c.get(path)
	for i := int64(0); ; i++ {
		n := int(data[0])<<8 | int(data[1])
		if i == index%256 {
			return data[2 : 2+n]
		}
		data = data[2+n:]
	}
}

func open(text, vkey string) tlog.Tree {
	verifier, err := note.NewVerifier(vkey)
	check(err)
	n, err := note.Open([]byte(text), note.VerifierList(verifier))
	check(err)
	lines := strings.SplitN(n.Text, "\n", 4)
	tree, err := tlog.ParseTree([]byte("go.sum database tree\n" + lines[1] + "\n" + lines[2] + "\n"))
	check(err)
	return tree
}

func proof(hashes []string) []tlog.Hash {
	out := make([]tlog.Hash, len(hashes))
	for i, h := range hashes {
		raw, err := base64.StdEncoding.DecodeString(h)
		check(err)
		copy(out[i][:], raw)
	}
	return out
}

func result(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

func main() {
	var req request
	check(json.NewDecoder(os.Stdin).Decode(&req))
	c := &client{base: req.URL, token: req.Token}
	tree := open(string(c.get("checkpoint")), req.Vkey)
	reader := tlog.TileHashReader(tree, tileReader{c})
	root, err := tlog.TreeHash(tree.N, reader)
	check(err)
	ans := answer{Size: tree.N, RootMatches: root == tree.Hash}
	for _, inc := range req.Inclusion {
		leaf := tlog.RecordHash(c.entry(inc.Index))
		ans.Inclusion = append(ans.Inclusion, result(tlog.CheckRecord(proof(inc.Proof), tree.N, tree.Hash, inc.Index, leaf)))
	}
	if req.OldNote != "" {
		old := open(req.OldNote, req.Vkey)
		ans.Consistency = result(tlog.CheckTree(proof(req.Consistency), tree.N, tree.Hash, old.N, old.Hash))
		goProof, err := tlog.ProveTree(tree.N, old.N, reader)
		check(err)
		ans.GoConsistency = result(tlog.CheckTree(goProof, tree.N, tree.Hash, old.N, old.Hash))
	}
	ans.TilesDownloaded = c.tiles
	check(json.NewEncoder(os.Stdout).Encode(ans))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlogclient:", err)
		os.Exit(1)
	}
}
