package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// maxJWKSBytes bounds a key set document.
const maxJWKSBytes = 1 << 20

// DefaultRefreshInterval is how often keys are fetched again when the
// config names no jwtKeyProvider.refreshInterval (the reference's default).
const DefaultRefreshInterval = time.Minute

// KeySet holds the public keys of the JWKS documents at some URIs, by key
// ID, fetched at start and again every refresh interval (so a rotated key
// is picked up without restart). A fetch that fails keeps the previous
// keys. Only RSA and EC P-256 keys are kept (what RS256/ES256 need).
type KeySet struct {
	uris   []string
	client *http.Client
	log    *slog.Logger

	mu   sync.RWMutex
	keys map[string]crypto.PublicKey
}

// NewKeySet returns a key set over uris; Refresh fills it.
func NewKeySet(uris []string, client *http.Client, log *slog.Logger) *KeySet {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if log == nil {
		log = slog.Default()
	}
	return &KeySet{uris: uris, client: client, log: log, keys: map[string]crypto.PublicKey{}}
}

// Key returns the key with ID kid.
func (k *KeySet) Key(kid string) (any, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.keys[kid]
	return key, ok
}

// Refresh fetches every URI and replaces the keys with what they hold. If
// any fetch fails the old keys from that URI are not dropped: the new set
// is merged over the old one, and the error is returned.
func (k *KeySet) Refresh(ctx context.Context) error {
	fresh := map[string]crypto.PublicKey{}
	var errs []error
	for _, uri := range k.uris {
		keys, err := k.fetch(ctx, uri)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for id, key := range keys {
			fresh[id] = key
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(errs) > 0 {
		for id, key := range k.keys {
			if _, ok := fresh[id]; !ok {
				fresh[id] = key
			}
		}
	}
	k.keys = fresh
	return errors.Join(errs...)
}

// Run refreshes the keys every interval until ctx ends, logging failures.
func (k *KeySet) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultRefreshInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.Refresh(ctx); err != nil && ctx.Err() == nil {
				k.log.Warn("refreshing JWT signing keys", "error", err)
			}
		}
	}
}

func (k *KeySet) fetch(ctx context.Context, uri string) (map[string]crypto.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", uri, err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks %s: HTTP %s", uri, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", uri, err)
	}
	keys, err := ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", uri, err)
	}
	return keys, nil
}

type jwk struct {
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// ParseJWKS reads a JSON Web Key Set. Keys without a kid, for encryption
// (`use: enc`), or of other kinds than RSA and EC P-256 are skipped; a
// malformed RSA or EC key is an error.
func ParseJWKS(data []byte) (map[string]crypto.PublicKey, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a JWKS document: %w", err)
	}
	out := map[string]crypto.PublicKey{}
	for _, key := range doc.Keys {
		if key.Kid == "" || key.Use == "enc" {
			continue
		}
		var pub crypto.PublicKey
		var err error
		switch key.Kty {
		case "RSA":
			pub, err = rsaKey(key)
		case "EC":
			if key.Crv != "P-256" {
				continue
			}
			pub, err = ecKey(key)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key.Kid, err)
		}
		out[key.Kid] = pub
	}
	return out, nil
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("bad base64url integer %q", s)
	}
	return new(big.Int).SetBytes(b), nil
}

func rsaKey(k jwk) (*rsa.PublicKey, error) {
	n, err := b64int(k.N)
	if err != nil {
		return nil, err
	}
	e, err := b64int(k.E)
	if err != nil {
		return nil, err
	}
	if n.BitLen() < 2048 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31 {
		return nil, errors.New("RSA key too small or bad exponent")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

func ecKey(k jwk) (*ecdsa.PublicKey, error) {
	x, err := b64int(k.X)
	if err != nil {
		return nil, err
	}
	y, err := b64int(k.Y)
	if err != nil {
		return nil, err
	}
	if x.BitLen() > 256 || y.BitLen() > 256 {
		return nil, errors.New("EC coordinates too large")
	}
	// The uncompressed point; ParseUncompressedPublicKey checks it is on
	// the curve.
	point := make([]byte, 65)
	point[0] = 4
	x.FillBytes(point[1:33])
	y.FillBytes(point[33:])
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("EC key: %w", err)
	}
	return pub, nil
}
