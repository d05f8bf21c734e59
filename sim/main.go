// Command bonneville-sim serves Bonneville's embedded vSphere: a vCenter model
// (one datacenter, a cluster of three ESXi hosts, a distributed switch with two
// port groups, a datastore and a source template) on loopback over HTTPS, with
// InstantClone_Task, a simulated guest agent, and fault injection.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// The source template every ParentTemplate is cloned from.
const sourceTemplateName = "bonneville-source"

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func envMillis(name string, fallback int) time.Duration {
	v, err := strconv.Atoi(env(name, strconv.Itoa(fallback)))
	if err != nil || v < 0 {
		log.Fatalf("%s must be a number of milliseconds, got %q", name, os.Getenv(name))
	}
	return time.Duration(v) * time.Millisecond
}

// selfSignedCertificate makes a fresh key and certificate for loopback, so
// every run has its own thumbprint, as a real vCenter's self-signed one does.
func selfSignedCertificate(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "bonneville-sim", Organization: []string{"Bonneville embedded vSphere"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		IsCA:         true,
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func thumbprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// seed adds what the model lacks: the source template, marked as template,
// with one NIC on the first port group and the guest agent installed.
func seed(ctx context.Context, u *url.URL) error {
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return err
	}
	defer func() { _ = c.Logout(ctx) }()

	finder := find.NewFinder(c.Client, true)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return err
	}
	finder.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		return err
	}
	pool, err := finder.ResourcePool(ctx, "DC0_C0/Resources")
	if err != nil {
		return err
	}
	hosts, err := finder.HostSystemList(ctx, "DC0_C0/*")
	if err != nil {
		return err
	}
	pg, err := finder.Network(ctx, "DC0_DVPG0")
	if err != nil {
		return err
	}
	backing, err := pg.EthernetCardBackingInfo(ctx)
	if err != nil {
		return err
	}
	nic, err := object.EthernetCardTypes().CreateEthernetCard("vmxnet3", backing)
	if err != nil {
		return err
	}
	devices := object.VirtualDeviceList{}
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		return err
	}
	devices = append(devices, scsi)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), types.ManagedObjectReference{}, "")
	disk.CapacityInKB = 8 * 1024 * 1024
	devices = append(devices, disk, nic)
	deviceChange, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		return err
	}
	for _, d := range deviceChange {
		if _, ok := d.GetVirtualDeviceConfigSpec().Device.(*types.VirtualDisk); ok {
			d.GetVirtualDeviceConfigSpec().FileOperation = types.VirtualDeviceConfigSpecFileOperationCreate
		}
	}
	spec := types.VirtualMachineConfigSpec{
		Name:         sourceTemplateName,
		GuestId:      string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest),
		NumCPUs:      2,
		MemoryMB:     2048,
		Files:        &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"},
		DeviceChange: deviceChange,
		Annotation:   "Bonneville source template: Linux with a container runtime and the Bonneville guest agent.",
		ExtraConfig: []types.BaseOptionValue{
			&types.OptionValue{Key: "guestinfo.bonneville.agentVersion", Value: "1"},
		},
	}
	host := hosts[0].Reference()
	task, err := folders.VmFolder.CreateVM(ctx, spec, pool, hosts[0])
	if err != nil {
		return err
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return fmt.Errorf("create source template: %w", err)
	}
	vm := object.NewVirtualMachine(c.Client, info.Result.(types.ManagedObjectReference))
	_ = host
	return vm.MarkAsTemplate(ctx)
}

func main() {
	log.SetPrefix("bonneville-sim: ")
	log.SetFlags(0)

	host := env("BONNEVILLE_SIM_HOST", "127.0.0.1")
	port := env("BONNEVILLE_SIM_PORT", "8989")
	user := env("BONNEVILLE_SIM_USER", "administrator@vsphere.local")
	password := env("BONNEVILLE_SIM_PASSWORD", "bonneville")
	simulator.SetBonnevilleGuestTiming(
		envMillis("BONNEVILLE_SIM_READY_MS", 300),
		envMillis("BONNEVILLE_SIM_CLONE_BOOT_MS", 50),
	)
	if os.Getenv("BONNEVILLE_SIM_TRACE") == "" {
		// The simulator logs every WaitForUpdates timeout; keep stderr useful.
		log.SetOutput(os.Stderr)
	}

	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = 1
	model.ClusterHost = 3
	model.Host = 0
	model.Machine = 0
	model.Portgroup = 2
	model.Datastore = 1
	model.Pool = 0
	model.App = 0
	if err := model.Create(); err != nil {
		log.Fatalf("create model: %v", err)
	}
	defer model.Remove()

	cert, err := selfSignedCertificate(host)
	if err != nil {
		log.Fatalf("certificate: %v", err)
	}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	model.Service.Listen = &url.URL{Host: net.JoinHostPort(host, port), User: url.UserPassword(user, password)}

	server := model.Service.NewServer()
	defer server.Close()
	simulator.InstallBonneville(model.Service, server)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if err := seed(ctx, server.URL); err != nil {
		log.Fatalf("seed inventory: %v", err)
	}
	cancel()

	u := *server.URL
	u.User = nil
	fmt.Printf("BONNEVILLE_SIM_READY url=%s user=%s password=%s thumbprint=%s\n",
		u.String(), user, password, thumbprint(cert.Certificate[0]))
	os.Stdout.Sync()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
}
