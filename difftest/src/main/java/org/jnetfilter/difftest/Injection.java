package org.jnetfilter.difftest;

/**
 * One frame the harness puts on the wire: on {@code side} ("a" or "b"), so it enters dut on the
 * interface facing that side; {@code label} says what it is for reproducers ("tcp syn 10.1.0.2:1024 >
 * 10.2.0.3:80").
 */
public record Injection(String side, byte[] frame, String label) {
    public String dutInterface() {
        return side.equals(Topology.A) ? Topology.DUT_A : Topology.DUT_B;
    }

    /**
     * This frame with {@code salt} added to its fragment identification (IPv4 ID of a fragment, the IPv6
     * Fragment header's), checksum fixed; other frames unchanged. Each run of a case gets its own salt, so
     * fragments never meet a reassembly queue an earlier run left behind in the kernel.
     */
    public Injection withFragmentSalt(int salt) {
        byte[] f = frame.clone();
        java.lang.foreign.MemorySegment s = java.lang.foreign.MemorySegment.ofArray(f);
        int l3 = org.jnetfilter.core.packet.EthernetHeader.LENGTH;
        if (f.length < l3 + 20) {
            return this;
        }
        int etherType = Be.u16(s, org.jnetfilter.core.packet.EthernetHeader.ETHER_TYPE);
        if (etherType == org.jnetfilter.core.packet.EthernetHeader.ETH_P_IP && (f[l3] & 0xF0) == 0x40
                && (f[l3] & 0xF) >= 5 && f.length >= l3 + (f[l3] & 0xF) * 4) {
            var ip = new org.jnetfilter.core.packet.Ipv4Header().wrap(s, l3);
            if (!ip.isFragment()) {
                return this;
            }
            boolean valid = ip.checksumValid();
            ip.identification((ip.identification() + salt) & 0xFFFF);
            if (valid) {
                ip.updateChecksum();
            }
            return new Injection(side, f, label);
        }
        if (etherType == org.jnetfilter.core.packet.EthernetHeader.ETH_P_IPV6 && f.length >= l3 + 48
                && (f[l3 + 6] & 0xFF) == 44) {
            long id = Be.s32(s, l3 + 44) & 0xFFFF_FFFFL;
            Be.u32(s, l3 + 44, (id + salt) & 0xFFFF_FFFFL);
            return new Injection(side, f, label);
        }
        return this;
    }

    @Override
    public String toString() {
        return side + ": " + label;
    }
}
