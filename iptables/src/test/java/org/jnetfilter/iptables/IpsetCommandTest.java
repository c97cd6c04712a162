package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ipset.Ipsets;
import org.junit.jupiter.api.Test;

/** jnf ipset without root: the stored state across commands, on an injected clock. */
class IpsetCommandTest {
    private static final long S = 1_000_000_000L;
    private final long[] clock = {1_800_000_000L * S};

    private IpsetCommand ipset(Path dir) {
        return new IpsetCommand(new IpsetStore(dir), () -> clock[0], new SplittableRandom(9));
    }

    private static IpsetKernelDifferentialTest.Outcome run(IpsetCommand c, String line) {
        return IpsetKernelDifferentialTest.mine(c, List.of(line.split(" ")), "");
    }

    @Test
    void setsPersistBetweenCommandsAndTheirTimeoutsAgeOnTheClock() throws Exception {
        Path dir = Files.createTempDirectory("jnf-ipset");
        for (String line : new String[] {
            "create a hash:ip timeout 100 counters comment", "add a 10.0.0.1 timeout 50 packets 3 bytes 9",
            "create gone hash:ip", "create n hash:net,port family inet6", "add n 2001:db8::/64,udp:53",
            "create b bitmap:port range 1-100 skbinfo", "add b 80 skbmark 0x10/0xff skbprio 1:2",
            "create l list:set", "add l a", "add l n before a", "destroy gone",
        }) {
            assertThat(run(ipset(dir), line).code()).as(line).isZero();
        }
        clock[0] += 20 * S;
        String saved = run(ipset(dir), "save").out();
        assertThat(saved.replaceAll("initval 0x[0-9a-f]+", "initval X")).isEqualTo("""
                create a hash:ip family inet hashsize 1024 maxelem 65536 timeout 100 counters comment bucketsize 12 initval X
                add a 10.0.0.1 timeout 30 packets 3 bytes 9
                create n hash:net,port family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval X
                add n 2001:db8::/64,udp:53
                create b bitmap:port range 1-100 skbinfo
                add b 80 skbmark 0x10/0xff skbprio 1:2
                create l list:set size 8
                add l n
                add l a
                """);
        // the index of the destroyed set is free again: the next set takes it, listed where it was
        run(ipset(dir), "create c hash:ip");
        assertThat(run(ipset(dir), "list -n").out()).isEqualTo("a\nc\nn\nb\nl\n");
        assertThat(run(ipset(dir), "destroy a").err()).contains("in use by a kernel component");
        clock[0] += 31 * S;
        assertThat(run(ipset(dir), "test a 10.0.0.1").code()).isEqualTo(1);
    }

    @Test
    void aCommandThatChangesNothingLeavesTheStoredStateAlone() throws Exception {
        Path dir = Files.createTempDirectory("jnf-ipset");
        run(ipset(dir), "create a hash:ip");
        run(ipset(dir), "add a 10.0.0.1");
        byte[] before = Files.readAllBytes(dir.resolve(IpsetStore.FILE));
        assertThat(run(ipset(dir), "add a 10.0.0.1").code()).isEqualTo(1);
        assertThat(run(ipset(dir), "list").code()).isZero();
        assertThat(Files.readAllBytes(dir.resolve(IpsetStore.FILE))).isEqualTo(before);
    }

    @Test
    void rulesNamingASetKeepItFromBeingDestroyedOrRenamed() throws Exception {
        Path dir = Files.createTempDirectory("jnf-ipset");
        IpsetCommand c = ipset(dir);
        Ipsets.installLoader(c::loadForRules);
        try {
            run(c, "create h hash:ip");
            Iptables ipt = new Iptables(new StateStore(dir, Extensions.standard()), Extensions.standard(),
                    java.time.ZonedDateTime::now);
            int code = ipt.run("iptables", new String[] {"-A", "INPUT", "-m", "set", "--match-set", "h", "src", "-j",
                "DROP"}, new ByteArrayInputStream(new byte[0]), System.out, System.err);
            assertThat(code).isZero();
            assertThat(run(c, "list h -t").out()).contains("References: 1\n");
            assertThat(run(c, "destroy h").err()).isEqualTo(
                    "ipset v7.17: Set cannot be destroyed: it is in use by a kernel component\n");
            assertThat(run(c, "rename h h2").err()).isEqualTo(
                    "ipset v7.17: Set cannot be renamed: it is in use by another system\n");
            ipt.run("iptables", new String[] {"-F"}, new ByteArrayInputStream(new byte[0]), System.out, System.err);
            assertThat(run(c, "destroy h").code()).isZero();
        } finally {
            Ipsets.installLoader(Ipsets::new);
        }
    }
}
