// Package inventory is a tiny stock store used to demonstrate codemod.
package inventory

import (
	"context"
	"errors"
	"sync"
)

// ErrUnknownItem is returned for items the store has never seen.
var ErrUnknownItem = errors.New("unknown item")

// Store counts items in stock.
type Store struct {
	mu    sync.Mutex
	stock map[string]int
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{stock: map[string]int{}} }

// Add puts n items of sku in stock.
func (s *Store) Add(ctx context.Context, sku string, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stock[sku] += n
	return nil
}

// Count says how many items of sku are in stock.
func (s *Store) Count(ctx context.Context, sku string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.stock[sku]
	if !ok {
		return 0, ErrUnknownItem
	}
	return n, nil
}

// Reset empties the store.
func (s *Store) Reset(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stock = map[string]int{}
	return nil
}
