package io.moose.flows.model;

import com.typesafe.config.Config;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataOnlyHoconTest {

    @TempDir
    Path dir;

    @Test
    void plainDataParsesAsIs() {
        Config config = DataOnlyHocon.parse("models = [{ name = A, versions = [] }]\nx = \"${not a substitution}\"");
        assertEquals("A", config.getConfigList("models").get(0).getString("name"));
        assertEquals("${not a substitution}", config.getString("x"));
    }

    @Test
    void anEnvironmentSubstitutionIsRefusedNamingItAndItsLineWithoutItsValue() {
        String home = System.getenv("HOME");
        DataOnlyHocon.Refused refused = assertThrows(DataOnlyHocon.Refused.class,
                () -> DataOnlyHocon.parse("a = 1\nb = 2\nmodels = [{ name = ${HOME} }]"));
        assertEquals("substitution ${HOME} at line 3 is not allowed in a definition sent over HTTP; write the values themselves",
                refused.getMessage());
        assertTrue(home == null || !refused.getMessage().contains(home + "\"") && !refused.getMessage().contains("= " + home));
    }

    @Test
    void optionalAndConcatenatedSubstitutionsOfTheEnvironmentAreRefusedToo() {
        String path = System.getenv("PATH");
        for (String text : new String[]{"x = ${?PATH}", "x = \"prefix-\"${?PATH}", "x = [1, ${?PATH}]",
                "x = { a = 1 }\nx = ${?JAVA_HOME}", "x = ${?user.home}", "PATH = ${?PATH}", "a = 1\nx = ${a}${?HOME}"}) {
            DataOnlyHocon.Refused refused = assertThrows(DataOnlyHocon.Refused.class, () -> DataOnlyHocon.parse(text), text);
            assertTrue(refused.getMessage().contains("substitution ${"), refused.getMessage());
            assertTrue(path == null || !refused.getMessage().contains(path), refused.getMessage());
        }
    }

    @Test
    void substitutionsOfTheTextsOwnValuesResolveAgainstTheTextAlone() {
        Config config = DataOnlyHocon.parse("a = 1\nx = ${a}\nflows = [\"f1\"]\nflows += \"f2\"\nHOME = \"mine\"\nh = ${HOME}");
        assertEquals(1, config.getInt("x"));
        assertEquals(java.util.List.of("f1", "f2"), config.getStringList("flows"));
        assertEquals("mine", config.getString("h"), "the text's own HOME, not the environment's");
        assertEquals(java.util.List.of("f3"), DataOnlyHocon.parse("flows += \"f3\"").getStringList("flows"));
    }

    @Test
    void everyKindOfIncludeIsRefusedWithoutReadingTheFile() throws IOException {
        Path secret = Files.writeString(dir.resolve("secret.conf"), "stolen = \"file-content-7f3a\"");
        for (String include : new String[]{"include file(\"" + secret + "\")", "include \"" + secret + "\"",
                "include required(file(\"" + secret + "\"))", "include classpath(\"reference.conf\")"}) {
            DataOnlyHocon.Refused refused = assertThrows(DataOnlyHocon.Refused.class,
                    () -> DataOnlyHocon.parse("a = 1\n" + include + "\nb = 2"), include);
            assertTrue(refused.getMessage().startsWith("include "), refused.getMessage());
            assertTrue(refused.getMessage().contains(" at line 2 is not allowed in a definition sent over HTTP"), refused.getMessage());
            assertFalse(refused.getMessage().contains("file-content-7f3a"), refused.getMessage());
        }
    }

    @Test
    void aUrlIncludeIsRefusedWithoutConnecting() throws IOException {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String url = "http://127.0.0.1:" + server.getLocalPort() + "/x.conf";
            DataOnlyHocon.Refused refused = assertThrows(DataOnlyHocon.Refused.class,
                    () -> DataOnlyHocon.parse("include url(\"" + url + "\")"));
            assertEquals("include url(\"" + url + "\") at line 1 is not allowed in a definition sent over HTTP", refused.getMessage());
            server.setSoTimeout(300);
            assertThrows(SocketTimeoutException.class, server::accept, "nothing connected to the URL");
        }
    }

    @Test
    void textThatIsNotHoconIsRefusedAsSuch() {
        DataOnlyHocon.Refused refused = assertThrows(DataOnlyHocon.Refused.class, () -> DataOnlyHocon.parse("models = [ {"));
        assertTrue(refused.getMessage().startsWith("the body is not valid HOCON"), refused.getMessage());
    }
}
