//go:build !plan9

package vfs

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestInjectedErrnoWrapping checks that an errno passed as the injected error (a full disk here)
// stays visible to errors.Is and errors.As through WithFaults' wrapping and the caller's.
func TestInjectedErrnoWrapping(t *testing.T) {
	fs := WithFaults(NewMem(), OnNth(1, syscall.ENOSPC, OpWrite))
	f, err := fs.Create("/full")
	require.NoError(t, err)
	n, err := f.Write([]byte("data"))
	require.Zero(t, n)
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.Equal(t, "injected write /full: "+syscall.ENOSPC.Error(), err.Error())
	var errno syscall.Errno
	require.True(t, errors.As(err, &errno))

	wrapped := fmt.Errorf("wal: append: %w", err)
	require.ErrorIs(t, wrapped, syscall.ENOSPC)
}
