package benchgen

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseCPU(t *testing.T) {
	block := "processor\t: %d\nmodel name\t: AMD EPYC 7B13\ncache size\t: 512 KB\nflags\t\t: fpu vme hypervisor lahf_lm\n\n"
	in := strings.ReplaceAll(block, "%d", "0") + strings.ReplaceAll(block, "%d", "1")
	require.Equal(t, CPU{Model: "AMD EPYC 7B13", Count: 2, CacheSize: "512 KB", Virtual: true}, parseCPU(strings.NewReader(in)))
	require.False(t, parseCPU(strings.NewReader("model name : x\nflags : fpu hypervisorx\n")).Virtual)
	require.Equal(t, CPU{}, parseCPU(strings.NewReader("")))
	require.Equal(t, ReadCPU().Count > 0, ReadCPU().Model != "")
}
