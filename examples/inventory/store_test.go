package inventory

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAddAndCount(t *testing.T) {
	ctx := context.Background()
	s := NewStore()

	require.NoError(t, s.Add(ctx, "apple", 3))
	n, err := s.Count(ctx, "apple")
	require.NoError(t, err)
	require.Equal(t, 3, n)
}

func TestCountWithTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	s := NewStore()
	_, err := s.Count(ctx, "pear")
	require.ErrorIs(t, err, ErrUnknownItem)
}

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		sku  string
		add  int
	}{
		{"one", "fig", 1},
		{"many", "kiwi", 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStore()
			require.NoError(t, s.Add(context.TODO(), tc.sku, tc.add))
			n, err := s.Count(context.TODO(), tc.sku)
			require.NoError(t, err)
			require.Equal(t, tc.add, n)
		})
	}
}

func TestResetInCleanup(t *testing.T) {
	s := NewStore()
	require.NoError(t, s.Add(t.Context(), "plum", 1))
	t.Cleanup(func() {
		// t.Context() is already cancelled here: context.Background() is right, and stays.
		_ = s.Reset(context.Background())
	})
}
