// The guest RPC channel of namespace-backed VMs (bonneville_netns.go): what
// VMware Tools' vmware-rpctool reaches through the backdoor in a real VM, here
// a Unix socket per VM that sim/netns/stand-ins/vmware-rpctool (this binary run as
// `bonneville-sim --rpctool "<command>"`) talks to. It answers as the real
// tool does (open-vm-tools rpctool.c): the reply on stdout and exit 0, or the
// failure text on stderr and exit 1.
//
// Commands, with the limits a real guest meets:
//   info-get guestinfo.<key>        the key from the VM's configuration;
//                                   "No value found" when it is not set
//   info-set guestinfo.<key> <val>  sets it in config.extraConfig (property
//                                   collector updates follow). A guest cannot
//                                   set an empty value (cloud-init's
//                                   guestinfo_set_value); one message carries
//                                   at most 64 KiB (open-vm-tools
//                                   guest_msg_def.h, GUESTMSG_MAX_IN_SIZE).
//                                   Keys the guest creates are volatile: gone
//                                   at power-off (vic #404, #4110, #8148).
//   instantclone.freeze             runtime.instantCloneFrozen becomes true and
//                                   the call blocks (vSphere 6.7 SDK guide,
//                                   "Freezing the Source Virtual Machine").
// The failure texts for an empty value, an oversized message and a key
// outside guestinfo. are not documented by VMware; these are Bonneville's.

package simulator

import (
	"fmt"
	"io/ioutil"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

type bonnevilleRPCServer struct {
	path     string
	vm       *bonnevilleNetnsVM
	listener net.Listener
	mu       sync.Mutex
	set      map[string]bool // keys the guest has set
}

func bonnevilleServeRPC(vm *bonnevilleNetnsVM) (*bonnevilleRPCServer, error) {
	if err := os.MkdirAll(vm.dir, 0o700); err != nil {
		return nil, err
	}
	p := filepath.Join(vm.dir, "rpc.sock")
	_ = os.Remove(p)
	l, err := net.Listen("unix", p)
	if err != nil {
		return nil, err
	}
	s := &bonnevilleRPCServer{path: p, vm: vm, listener: l, set: map[string]bool{}}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s, nil
}

func (s *bonnevilleRPCServer) close() {
	_ = s.listener.Close()
}

func (s *bonnevilleRPCServer) guestSet(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set[key]
}

func (s *bonnevilleRPCServer) serve(conn net.Conn) {
	defer conn.Close()
	req, err := ioutil.ReadAll(conn)
	if err != nil {
		return
	}
	ok, reply := s.handle(string(req))
	status := "0"
	if ok {
		status = "1"
	}
	_, _ = conn.Write([]byte(status + reply))
}

func (s *bonnevilleRPCServer) handle(cmd string) (bool, string) {
	if len(cmd) > bonnevilleGuestMsgMax {
		return false, "Message too long"
	}
	vm, ok := Map.Get(s.vm.ref).(*VirtualMachine)
	if !ok {
		return false, "VM is gone"
	}
	var reply string
	var err error
	if strings.TrimSpace(cmd) == "instantclone.freeze" {
		Map.WithLock(vm, func() { err = bonnevilleFreeze(vm) })
		if err != nil {
			return false, err.Error()
		}
		// The parent stays frozen; its guest never runs again. The call
		// returns in each child, whose guest is started by bonneville_netns.go.
		<-s.vm.stopped
		return false, "the VM was powered off"
	}
	// info-get and info-set as every simulated guest makes them
	// (bonneville_guestinfo.go: no empty values, 64 KiB, volatility).
	Map.WithLock(vm, func() { reply, err = bonnevilleGuestRPC(vm, cmd) })
	if err != nil {
		return false, err.Error()
	}
	if strings.HasPrefix(cmd, "info-set ") {
		key := strings.SplitN(strings.TrimPrefix(cmd, "info-set "), " ", 2)[0]
		s.mu.Lock()
		s.set[key] = true
		s.mu.Unlock()
	}
	return true, reply
}

// BonnevilleRPCTool is `bonneville-sim --rpctool "<command>"`: the client side,
// run inside a namespace-backed VM as vmware-rpctool.
func BonnevilleRPCTool(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "rpctool syntax:\n\n  rpctool <text>")
		return 1
	}
	sock := os.Getenv("BONNEVILLE_RPC_SOCKET")
	conn, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Failed sending message to VMware.")
		return 1
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(args[0])); err != nil {
		fmt.Fprintln(os.Stderr, "Failed sending message to VMware.")
		return 1
	}
	_ = conn.(*net.UnixConn).CloseWrite()
	reply, err := ioutil.ReadAll(conn)
	if err != nil || len(reply) == 0 {
		fmt.Fprintln(os.Stderr, "Failed sending message to VMware.")
		return 1
	}
	if reply[0] == '1' {
		fmt.Println(string(reply[1:]))
		return 0
	}
	fmt.Fprintln(os.Stderr, string(reply[1:]))
	return 1
}
