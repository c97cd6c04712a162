package org.jnetfilter.iptables.testkit;

import java.util.SplittableRandom;

/**
 * Rulesets of the shape Docker (20.x-27.x, iptables backend) installs on a host: the DOCKER,
 * DOCKER-USER and DOCKER-ISOLATION-STAGE-1/2 chains, one bridge per network with its MASQUERADE and
 * isolation rules, and for each published container port a DNAT in nat/DOCKER and an ACCEPT in
 * filter/DOCKER. Written from Docker's documented behaviour and observed rulesets, as restore input.
 * Test material shared by the iptables module's tests and the packet differential harness (difftest).
 */
public final class DockerRules {
    private DockerRules() {
    }

    /** {@code networks} user bridges besides docker0, {@code containers} containers with published ports. */
    public static String generate(int networks, int containers, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        StringBuilder nat = new StringBuilder("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                + ":POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n"
                + "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
                + "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER\n");
        StringBuilder filter = new StringBuilder("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                + ":DOCKER - [0:0]\n:DOCKER-ISOLATION-STAGE-1 - [0:0]\n:DOCKER-ISOLATION-STAGE-2 - [0:0]\n"
                + ":DOCKER-USER - [0:0]\n"
                + "-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n");
        StringBuilder isolation1 = new StringBuilder();
        StringBuilder isolation2 = new StringBuilder();
        StringBuilder forward = new StringBuilder();
        for (int n = 0; n <= networks; n++) {
            String bridge = n == 0 ? "docker0" : "br-" + String.format("%012x", rnd.nextLong() & 0xFFFFFFFFFFFFL);
            String subnet = "172." + (17 + n / 256) + "." + (n % 256) + ".0/24";
            nat.append("-A POSTROUTING -s ").append(subnet).append(" ! -o ").append(bridge).append(" -j MASQUERADE\n");
            nat.append("-A DOCKER -i ").append(bridge).append(" -j RETURN\n");
            forward.append("-A FORWARD -o ").append(bridge)
                    .append(" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n")
                    .append("-A FORWARD -o ").append(bridge).append(" -j DOCKER\n")
                    .append("-A FORWARD -i ").append(bridge).append(" ! -o ").append(bridge).append(" -j ACCEPT\n")
                    .append("-A FORWARD -i ").append(bridge).append(" -o ").append(bridge).append(" -j ACCEPT\n");
            isolation1.append("-A DOCKER-ISOLATION-STAGE-1 -i ").append(bridge).append(" ! -o ").append(bridge)
                    .append(" -j DOCKER-ISOLATION-STAGE-2\n");
            isolation2.append("-A DOCKER-ISOLATION-STAGE-2 -o ").append(bridge).append(" -j DROP\n");
        }
        for (int c = 0; c < containers; c++) {
            int n = rnd.nextInt(networks + 1);
            String bridge = n == 0 ? "docker0" : null;
            String ip = "172." + (17 + n / 256) + "." + (n % 256) + "." + (2 + c % 250);
            String proto = rnd.nextInt(4) == 0 ? "udp" : "tcp";
            int port = 1024 + rnd.nextInt(60000);
            int hostPort = 1024 + rnd.nextInt(60000);
            String in = bridge == null ? "br-x" + n : bridge;
            nat.append("-A POSTROUTING -s ").append(ip).append("/32 -d ").append(ip).append("/32 -p ").append(proto)
                    .append(" -m ").append(proto).append(" --dport ").append(port).append(" -j MASQUERADE\n");
            nat.append("-A DOCKER ! -i ").append(in).append(" -p ").append(proto).append(" -m ").append(proto)
                    .append(" --dport ").append(hostPort).append(" -j DNAT --to-destination ").append(ip).append(':')
                    .append(port).append('\n');
            filter.append("-A DOCKER -d ").append(ip).append("/32 ! -i ").append(in).append(" -o ").append(in)
                    .append(" -p ").append(proto).append(" -m ").append(proto).append(" --dport ").append(port)
                    .append(" -j ACCEPT\n");
        }
        filter.append(forward).append(isolation1).append("-A DOCKER-ISOLATION-STAGE-1 -j RETURN\n")
                .append(isolation2).append("-A DOCKER-ISOLATION-STAGE-2 -j RETURN\n-A DOCKER-USER -j RETURN\n")
                .append("COMMIT\n");
        nat.append("COMMIT\n");
        return nat.append(filter).toString();
    }
}
