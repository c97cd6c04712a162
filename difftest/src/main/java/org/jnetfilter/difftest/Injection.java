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

    @Override
    public String toString() {
        return side + ": " + label;
    }
}
