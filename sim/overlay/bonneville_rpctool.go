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

	"github.com/vmware/govmomi/vim25/types"
)

const bonnevilleRPCMessageMax = 64 * 1024

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
	if len(cmd) > bonnevilleRPCMessageMax {
		return false, "Message too large"
	}
	vm, ok := Map.Get(s.vm.ref).(*VirtualMachine)
	if !ok {
		return false, "VM is gone"
	}
	switch {
	case strings.HasPrefix(cmd, "info-get "):
		key := strings.TrimSpace(strings.TrimPrefix(cmd, "info-get "))
		var value string
		found := false
		Map.WithLock(vm, func() {
			value, found = bonnevilleOption(vm, key)
		})
		if !found || !strings.HasPrefix(key, "guestinfo.") {
			return false, "No value found"
		}
		return true, value
	case strings.HasPrefix(cmd, "info-set "):
		rest := strings.TrimPrefix(cmd, "info-set ")
		key, value := rest, ""
		if i := strings.IndexByte(rest, ' '); i >= 0 {
			key, value = rest[:i], rest[i+1:]
		}
		if !strings.HasPrefix(key, "guestinfo.") {
			return false, "Invalid key: only guestinfo.* can be set by the guest"
		}
		if value == "" {
			return false, "Invalid value: the guest cannot set an empty value"
		}
		s.mu.Lock()
		s.set[key] = true
		s.mu.Unlock()
		Map.WithLock(vm, func() {
			if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
				return
			}
			merged := bonnevilleMergeOptions(vm.Config.ExtraConfig, []types.BaseOptionValue{&types.OptionValue{Key: key, Value: value}})
			merged = append([]types.BaseOptionValue{&types.OptionValue{Key: "govcsim", Value: "TRUE"}}, merged...)
			Map.Update(vm, []types.PropertyChange{{Name: "config.extraConfig", Val: merged}})
		})
		return true, ""
	case strings.TrimSpace(cmd) == "instantclone.freeze":
		Map.WithLock(vm, func() {
			// a plain bool: the registry makes the *bool field point to it
			Map.Update(vm, []types.PropertyChange{{Name: "runtime.instantCloneFrozen", Val: true}})
		})
		// The parent stays frozen; its guest never runs again. The call
		// returns in each child, whose guest is started by bonneville_netns.go.
		<-s.vm.stopped
		return false, "the VM was powered off"
	}
	return false, "Unknown command"
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
