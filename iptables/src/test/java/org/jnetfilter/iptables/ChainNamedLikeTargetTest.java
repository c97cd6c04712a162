package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.List;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.core.rules.Target;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user chain named like a target extension: iptables 1.8.9 jumps to the chain when it exists ("Warning:
 * using chain MARK, not extension", the target's options dropped). The rule must stay a jump when the state
 * is read back by a later command, parsed or not (the golden transcript chain-named-target.golden has the
 * messages).
 */
class ChainNamedLikeTargetTest {
    @TempDir
    Path dir;

    private ConformanceTest.Run run(String program, String... args) {
        Iptables ipt = new Iptables(new StateStore(dir, Extensions.standard()), Extensions.standard(), ZonedDateTime::now);
        return ConformanceTest.run(ipt, program, List.of(args));
    }

    private Rule firstInputRule() {
        Ruleset rs = new StateStore(dir, Extensions.standard()).load(Family.IPV4);
        return rs.table(TableKind.FILTER).chain("INPUT").rules().get(0);
    }

    private int restoreChainMark() {
        try {
            Path file = java.nio.file.Files.writeString(dir.resolve("mark.rules"), "*filter\n:MARK - [0:0]\nCOMMIT\n");
            return run("iptables-restore", file.toString()).code();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aTargetWithItsOptionsBecomesAJumpToTheChainOfItsNameAndStaysOneInTheState() {
        // -N MARK clashes with the target: a restore makes the chain
        assertThat(restoreChainMark()).isZero();
        ConformanceTest.Run added = run("iptables", "-A", "INPUT", "-s", "10.0.0.1,10.0.0.2", "-j", "MARK", "--set-mark", "2");
        assertThat(added.code()).isZero();
        assertThat(added.err()).isEqualTo("Warning: using chain MARK, not extension\n");

        Rule unparsed = firstInputRule();
        assertThat(unparsed.isParsed()).isFalse();
        assertThat(unparsed.jumpChain()).as("jump read from the text").isEqualTo("MARK");
        Rule parsed = firstInputRule();
        assertThat(parsed.spec().target()).isEqualTo(new Target.Jump("MARK", false));
        assertThat(run("iptables", "-S", "INPUT").out())
                .isEqualTo("-P INPUT ACCEPT\n-A INPUT -s 10.0.0.1/32 -j MARK\n-A INPUT -s 10.0.0.2/32 -j MARK\n");
        assertThat(run("iptables", "-L", "MARK", "-n").out()).startsWith("Chain MARK (2 references)");
        // the chain is in use: legacy refuses to delete it, and its rules can be deleted through the target's words
        assertThat(run("iptables", "-X", "MARK").code()).isOne();
        assertThat(run("iptables", "-D", "INPUT", "-s", "10.0.0.1", "-j", "MARK", "--set-xmark", "7").code()).isZero();
        assertThat(run("iptables", "-S", "INPUT").out()).isEqualTo("-P INPUT ACCEPT\n-A INPUT -s 10.0.0.2/32 -j MARK\n");
    }

    @Test
    void theTransactionsApiJumpsToTheChainAsTheCommandDoes() throws Exception {
        Ruleset rs = Transactions.restore(Ruleset.empty(Family.IPV4), "*filter\n:MARK - [0:0]\nCOMMIT\n", false);
        rs = Transactions.command(rs, "-A", "INPUT", "-j", "MARK", "--set-mark", "2");
        assertThat(rs.table(TableKind.FILTER).chain("INPUT").rules().get(0).target())
                .isEqualTo(new Target.Jump("MARK", false));
    }

    @Test
    void withoutTheChainTheTargetStaysATarget() {
        assertThat(run("iptables", "-A", "INPUT", "-j", "MARK", "--set-mark", "2").code()).isZero();
        assertThat(firstInputRule().spec().target()).isInstanceOf(Target.Extension.class);
        assertThat(run("iptables", "-S", "INPUT").out()).contains("-A INPUT -j MARK --set-xmark 0x2/0xffffffff");
    }
}
