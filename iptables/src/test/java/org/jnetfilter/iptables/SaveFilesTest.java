package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

class SaveFilesTest {

    @Test
    void readsAFileWithItsCountersAndWritesItBack() throws Exception {
        String file = """
                *filter
                :INPUT DROP [3:180]
                :FORWARD ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                :SSH - [0:0]
                [7:420] -A INPUT -p tcp -m tcp --dport 22 -j SSH
                [2:120] -A SSH -s 10.0.0.0/8 -j ACCEPT
                COMMIT
                """;
        Ruleset rs = SaveFiles.read(Family.IPV4, file);
        assertThat(rs.table(TableKind.FILTER).chain("INPUT").policyCounters().packets()).isEqualTo(3);
        assertThat(SaveFiles.write(rs)).isEqualTo(file);
    }

    @Test
    void refusesWhatIptablesRestoreRefusesWithItsMessage() {
        assertThatThrownBy(() -> SaveFiles.read(Family.IPV4, "*filter\n-A INPUT -j NOPE\nCOMMIT\n"))
                .isInstanceOf(SaveFiles.Invalid.class)
                .hasMessageContaining("Couldn't load target `NOPE'").hasMessageContaining("Error occurred at line: 2");
        assertThatThrownBy(() -> SaveFiles.read(Family.IPV6, "*filter\n:INPUT ACCEPT [0:0]\n"))
                .hasMessage("ip6tables-restore: COMMIT expected at line 3");
    }
}
