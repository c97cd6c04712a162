package org.jnetfilter.core.rules;

/**
 * An address with a mask, IPv4 or IPv6, as {@code struct ipt_ip}'s src/smsk keep it. IPv4 lives in the
 * low 32 bits of {@code lo}; IPv6 is {@code hi:lo}, network order. The address is stored already masked,
 * as iptables stores it ({@code -s 10.11.12.13/8} saves as {@code 10.0.0.0/8}).
 */
public record IpNet(Family family, long hi, long lo, long maskHi, long maskLo) {
    // equals and hashCode written out: the record's generated ones go through method handles, slow before they
    // are compiled, and a restore compares and hashes fixed parts for every rule it shares (Interned)
    @Override
    public boolean equals(Object o) {
        return o instanceof IpNet n && family == n.family && hi == n.hi && lo == n.lo && maskHi == n.maskHi
                && maskLo == n.maskLo;
    }

    @Override
    public int hashCode() {
        int h = family.ordinal();
        h = 31 * h + Long.hashCode(hi);
        h = 31 * h + Long.hashCode(lo);
        h = 31 * h + Long.hashCode(maskHi);
        return 31 * h + Long.hashCode(maskLo);
    }

    private static final IpNet ANY_IPV4 = new IpNet(Family.IPV4, 0, 0, 0, 0);
    private static final IpNet ANY_IPV6 = new IpNet(Family.IPV6, 0, 0, 0, 0);

    /** Every address of a family (one shared value: most rules have no -s or no -d). */
    public static IpNet any(Family family) {
        return family == Family.IPV4 ? ANY_IPV4 : ANY_IPV6;
    }

    public static IpNet of(Family family, long hi, long lo, long maskHi, long maskLo) {
        if (maskHi == 0 && maskLo == 0) {
            return any(family);
        }
        return new IpNet(family, hi & maskHi, lo & maskLo, maskHi, maskLo);
    }

    public static IpNet ipv4(int address, int prefix) {
        long mask = prefix == 0 ? 0 : (0xFFFFFFFFL << (32 - prefix)) & 0xFFFFFFFFL;
        return of(Family.IPV4, 0, address & 0xFFFFFFFFL, 0, mask);
    }

    public boolean isAny() {
        return maskHi == 0 && maskLo == 0;
    }

    /** The prefix length, or -1 when the mask is not contiguous. */
    public int prefixLength() {
        if (family == Family.IPV4) {
            long m = maskLo & 0xFFFFFFFFL;
            int ones = Long.bitCount(m);
            long expect = ones == 0 ? 0 : (0xFFFFFFFFL << (32 - ones)) & 0xFFFFFFFFL;
            return m == expect ? ones : -1;
        }
        int ones = Long.bitCount(maskHi) + Long.bitCount(maskLo);
        long eh = ones == 0 ? 0 : ones >= 64 ? -1L : -1L << (64 - ones);
        long el = ones <= 64 ? 0 : ones == 128 ? -1L : -1L << (128 - ones);
        return maskHi == eh && maskLo == el ? ones : -1;
    }

    public boolean isHost() {
        return prefixLength() == family.addressBits();
    }

    public boolean contains(long addrHi, long addrLo) {
        return (addrHi & maskHi) == hi && (addrLo & maskLo) == lo;
    }

    /** The address alone, without mask. */
    public String addressText() {
        return family == Family.IPV4 ? AddressText.ipv4((int) lo) : AddressText.ipv6(hi, lo);
    }

    /** The mask as iptables prints it after the slash: a prefix length, or the mask in address form. */
    public String maskText() {
        int prefix = prefixLength();
        if (prefix >= 0) {
            return Integer.toString(prefix);
        }
        return family == Family.IPV4 ? AddressText.ipv4((int) maskLo) : AddressText.ipv6(maskHi, maskLo);
    }

    /** {@code addr/mask} as iptables-save prints it. */
    public String saveText() {
        return addressText() + "/" + maskText();
    }

    /**
     * Appends {@link #saveText()}; an IPv4 network with a prefix length without a String made on the way (every
     * address of a 160k-rule restore's save texts goes through here).
     */
    public void appendSaveText(StringBuilder sb) {
        int prefix;
        if (family == Family.IPV4 && (prefix = prefixLength()) >= 0) {
            int a = (int) lo;
            sb.append((a >>> 24) & 0xFF).append('.').append((a >>> 16) & 0xFF).append('.')
                    .append((a >>> 8) & 0xFF).append('.').append(a & 0xFF).append('/').append(prefix);
        } else {
            sb.append(addressText()).append('/').append(maskText());
        }
    }
}
