package org.jnetfilter.core.rules;

/** Address family of a ruleset: the kernel's NFPROTO_IPV4 and NFPROTO_IPV6 xtables. */
public enum Family {
    IPV4("iptables", 32),
    IPV6("ip6tables", 128);

    private final String program;
    private final int addressBits;

    Family(String program, int addressBits) {
        this.program = program;
        this.addressBits = addressBits;
    }

    /** The iptables program that manages this family, as it names itself in messages. */
    public String program() {
        return program;
    }

    public int addressBits() {
        return addressBits;
    }
}
