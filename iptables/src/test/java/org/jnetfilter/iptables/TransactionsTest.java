package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.junit.jupiter.api.Test;

class TransactionsTest {
    private static final String BASE = """
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :SSH - [0:0]
            -A INPUT -p tcp -m tcp --dport 22 -j SSH
            COMMIT
            """;

    @Test
    void commandsBuildTheNextGenerationAndLeaveTheCurrentOneAlone() throws Exception {
        Ruleset g0 = SaveFiles.read(Family.IPV4, BASE);
        Ruleset g1 = Transactions.command(g0, "-A", "SSH", "-s", "10.0.0.0/8", "-j", "ACCEPT");
        assertThat(g1.generation()).isEqualTo(g0.generation() + 1);
        assertThat(SaveFiles.write(g1)).contains("-A SSH -s 10.0.0.0/8 -j ACCEPT");
        assertThat(SaveFiles.write(g0)).doesNotContain("10.0.0.0/8");
        Ruleset g2 = Transactions.command(g1, "-D", "SSH", "-s", "10.0.0.0/8", "-j", "ACCEPT");
        assertThat(SaveFiles.write(g2)).isEqualTo(SaveFiles.write(g0));
        assertThat(Transactions.command(g2, "-C", "INPUT", "-p", "tcp", "--dport", "22", "-j", "SSH")).isSameAs(g2);
    }

    @Test
    void refusalsCarryIptablesMessagesAndChangeNothing() throws Exception {
        Ruleset g0 = SaveFiles.read(Family.IPV4, BASE);
        assertThatThrownBy(() -> Transactions.command(g0, "-X", "SSH")).isInstanceOf(XtablesException.class);
        assertThatThrownBy(() -> Transactions.command(g0, "-A", "NOPE", "-j", "ACCEPT")).isInstanceOf(XtablesException.class);
        assertThat(SaveFiles.write(g0)).isEqualTo(SaveFiles.write(SaveFiles.read(Family.IPV4, BASE)));
    }

    @Test
    void restoreDeltasWithNoflushAddToTheRuleset() throws Exception {
        Ruleset g0 = SaveFiles.read(Family.IPV4, BASE);
        Ruleset g1 = Transactions.restore(g0, "*filter\n:WEB - [0:0]\n-A INPUT -p tcp -m tcp --dport 80 -j WEB\nCOMMIT\n", true);
        assertThat(SaveFiles.write(g1)).contains(":WEB - [0:0]", "-A INPUT -p tcp -m tcp --dport 22 -j SSH",
                "-A INPUT -p tcp -m tcp --dport 80 -j WEB");
        assertThatThrownBy(() -> Transactions.restore(g0, "*filter\n-A INPUT -j NOPE\nCOMMIT\n", true))
                .isInstanceOf(SaveFiles.Invalid.class).hasMessageContaining("line: 2");
    }

    @Test
    void aTransactionBasedOnAnOlderGenerationIsRefusedAndChangesNothing() throws Exception {
        Ruleset g0 = SaveFiles.read(Family.IPV4, BASE);
        Ruleset g1 = Transactions.command(g0, g0.generation(), "-A", "SSH", "-j", "ACCEPT");
        assertThat(g1.generation()).isEqualTo(g0.generation() + 1);
        // a second writer that read g0 while g1 was published
        assertThatThrownBy(() -> Transactions.command(g1, g0.generation(), "-A", "SSH", "-j", "DROP"))
                .isInstanceOfSatisfying(Transactions.StaleGeneration.class, e -> {
                    assertThat(e.basedOn()).isEqualTo(g0.generation());
                    assertThat(e.current()).isEqualTo(g1.generation());
                });
        assertThatThrownBy(() -> Transactions.restore(g1, g0.generation(), "*filter\n-A SSH -j DROP\nCOMMIT\n", true))
                .isInstanceOf(Transactions.StaleGeneration.class);
        assertThat(SaveFiles.write(g1)).doesNotContain("-j DROP");
        Ruleset g2 = Transactions.restore(g1, g1.generation(), "*filter\n-A SSH -j DROP\nCOMMIT\n", true);
        assertThat(SaveFiles.write(g2)).contains("-A SSH -j ACCEPT\n[0:0] -A SSH -j DROP");
    }
}
