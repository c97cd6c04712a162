package org.jnetfilter.difftest;

/**
 * One frame the harness puts on the wire: on {@code side} ("a" or "b"), so it enters dut on the
 * interface facing that side; {@code label} says what it is for reproducers ("tcp syn 10.1.0.2:1024 >
 * 10.2.0.3:80"); {@code pauseMillis} is how long the wire stays quiet before it (0 but where the packets
 * must meet token buckets refilled and recent entries aged: the kernel side sleeps, and jnetfilter's clock,
 * which is the kernel side's clock of sending, moves on by the same time).
 */
public record Injection(String side, byte[] frame, String label, int pauseMillis) {
    public Injection(String side, byte[] frame, String label) {
        this(side, frame, label, 0);
    }

    /** This frame after {@code millis} of quiet on the wire. */
    public Injection afterPause(int millis) {
        return new Injection(side, frame, label, millis);
    }

    public String dutInterface() {
        return side.equals(Topology.A) ? Topology.DUT_A : Topology.DUT_B;
    }

    /**
     * This frame as run number {@code run} of its case sends it: the fragment identification salted
     * ({@link #withFragmentSalt}) and an IPv4 source from the no-route pool ({@link Topology#NO_ROUTE_FIRST})
     * moved to the run's own block of {@link Topology#NO_ROUTE_SENDERS} senders, checksums kept as they were
     * (valid or not). Consecutive runs use disjoint blocks; a sender comes back after
     * {@code NO_ROUTE_POOL / NO_ROUTE_SENDERS} runs. Every pool sender is alike to the generated rules.
     */
    public Injection salted(int fragmentSalt, int run) {
        Injection i = withFragmentSalt(fragmentSalt);
        byte[] f = i.frame == frame ? frame.clone() : i.frame;
        int l3 = org.jnetfilter.core.packet.EthernetHeader.LENGTH;
        java.lang.foreign.MemorySegment s = java.lang.foreign.MemorySegment.ofArray(f);
        if (f.length < l3 + 20 || Be.u16(s, org.jnetfilter.core.packet.EthernetHeader.ETHER_TYPE)
                != org.jnetfilter.core.packet.EthernetHeader.ETH_P_IP || (f[l3] & 0xF0) != 0x40) {
            return i;
        }
        int source = Be.s32(s, l3 + 12);
        int host = source & 0xFF;
        int subnet = source & 0xFFFFFF00;
        boolean ours = subnet == (Topology.HOST_A_V4 & 0xFFFFFF00) || subnet == (Topology.HOST_B_V4 & 0xFFFFFF00);
        int index = host - Topology.NO_ROUTE_FIRST;
        if (!ours || index < 0 || index >= Topology.NO_ROUTE_SENDERS) {
            return i;
        }
        int moved = subnet | (Topology.NO_ROUTE_FIRST + Math.floorMod(index + run * Topology.NO_ROUTE_SENDERS,
                Topology.NO_ROUTE_POOL));
        if (moved == source) {
            return i;
        }
        Be.u32(s, l3 + 12, moved & 0xFFFF_FFFFL);
        // RFC 1624: the IP header checksum and a TCP/UDP checksum over the pseudo header follow the address
        fixChecksum(s, l3 + 10, source, moved, false);
        int hl = (f[l3] & 0xF) * 4;
        boolean first = (Be.u16(s, l3 + 6) & 0x1FFF) == 0;
        int proto = f[l3 + 9] & 0xFF;
        if (first && proto == 6 && f.length >= l3 + hl + 18) {
            fixChecksum(s, l3 + hl + 16, source, moved, false);
        } else if (first && proto == 17 && f.length >= l3 + hl + 8 && Be.u16(s, l3 + hl + 6) != 0) {
            fixChecksum(s, l3 + hl + 6, source, moved, true);
        }
        return new Injection(side, f, label, pauseMillis);
    }

    private static void fixChecksum(java.lang.foreign.MemorySegment s, int at, int old, int neu, boolean udp) {
        int c = org.jnetfilter.core.packet.Checksums.update32(Be.u16(s, at), old, neu);
        // RFC 768: a UDP checksum that computes to 0 is sent as 0xFFFF
        Be.u16(s, at, udp && c == 0 ? 0xFFFF : c);
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
            return new Injection(side, f, label, pauseMillis);
        }
        if (etherType == org.jnetfilter.core.packet.EthernetHeader.ETH_P_IPV6 && f.length >= l3 + 48
                && (f[l3 + 6] & 0xFF) == 44) {
            long id = Be.s32(s, l3 + 44) & 0xFFFF_FFFFL;
            Be.u32(s, l3 + 44, (id + salt) & 0xFFFF_FFFFL);
            return new Injection(side, f, label, pauseMillis);
        }
        return this;
    }

    @Override
    public String toString() {
        return side + ": " + label + (pauseMillis > 0 ? " (after " + pauseMillis + " ms)" : "");
    }
}
