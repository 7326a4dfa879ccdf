package testseed

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSeed(t *testing.T) {
	old := *seedFlag
	defer func() { *seedFlag = old }()

	*seedFlag = 42
	require.Equal(t, uint64(42), Seed(t))
	*seedFlag = 0
	require.NotZero(t, Seed(t))
}
