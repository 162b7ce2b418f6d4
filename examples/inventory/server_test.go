package inventory

import (
	"bufio"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStockServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:18080")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = conn.Write([]byte("ok\n"))
	}()

	conn, err := net.Dial("tcp", "127.0.0.1:18080")
	require.NoError(t, err)
	defer conn.Close()
	line, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ok\n", line)
}

func TestRestockEventually(t *testing.T) {
	var restocked atomic.Int32
	go func() {
		time.Sleep(10 * time.Millisecond)
		restocked.Store(5)
	}()
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, int32(5), restocked.Load())
}
