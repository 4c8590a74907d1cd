// Reports what a Spring Boot application reads from a request: Tomcat's
// request parameters (what @RequestParam, HttpServletRequest#getParameter
// and Spring's data binding read, the query string's values before the
// body's, multipart parts included) with the request decoded as UTF-8, as
// Spring Boot's CharacterEncodingFilter forces by default; and on /json,
// Jackson's reading of the raw body (what @RequestBody reads); on /cookie,
// the cookies getCookies() gives under the name the query names (n, hex),
// as Tomcat's own session lookup reads them. Strings are
// hex of their UTF-8 bytes; maps are [key, value] pairs.
//
// Built by the differential test with javac against Debian's
// libtomcat10-embed-java, libjakarta-annotation-api-java (which Tomcat
// loads at start) and libjackson2-databind-java.

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.MultipartConfigElement;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.Part;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.catalina.Context;
import org.apache.catalina.Wrapper;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.catalina.util.ServerInfo;

public class Server {
    static final ObjectMapper MAPPER = new ObjectMapper();

    static String hex(String s) {
        return HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
    }

    static Object enc(Object v) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (v instanceof String s) {
            out.put("s", hex(s));
        } else if (v instanceof List<?> l) {
            List<Object> items = new ArrayList<>();
            for (Object x : l) {
                items.add(enc(x));
            }
            out.put("l", items);
        } else if (v instanceof Map<?, ?> m) {
            List<Object> pairs = new ArrayList<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                pairs.add(List.of(hex(String.valueOf(e.getKey())), enc(e.getValue())));
            }
            out.put("m", pairs);
        } else {
            out.put("j", v == null ? "null" : v.toString());
        }
        return out;
    }

    public static class Reader extends HttpServlet {
        @Override
        protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            Map<String, Object> out = new LinkedHashMap<>();
            try {
                switch (req.getRequestURI()) {
                    case "/ready" -> {
                        out.put("status", "ok");
                        out.put("version", ServerInfo.getServerInfo() + ", jackson "
                                + com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION + ", java "
                                + System.getProperty("java.version"));
                        // The token the test started this server with.
                        String token = System.getenv("LOGIN_GUARD_BODYDIFF_TOKEN");
                        out.put("token", token == null ? "" : token);
                    }
                    case "/cookie" -> {
                        // The cookie differential: every value getCookies()
                        // gives for the name, in order. Tomcat takes the
                        // first JSESSIONID as the requested session id, and
                        // the next ones while that names no valid session,
                        // so each must be the guard's value; for
                        // JSESSIONID also getRequestedSessionId() itself.
                        String name = new String(HexFormat.of().parseHex(req.getParameter("n")), StandardCharsets.UTF_8);
                        List<String> values = new ArrayList<>();
                        Cookie[] cookies = req.getCookies();
                        if (cookies != null) {
                            for (Cookie c : cookies) {
                                if (c.getName().equals(name)) {
                                    values.add(c.getValue());
                                }
                            }
                        }
                        Map<String, Object> reads = new LinkedHashMap<>();
                        reads.put("Tomcat getCookies", values.isEmpty() ? null : enc(values));
                        if (name.equals("JSESSIONID")) {
                            String id = req.getRequestedSessionId();
                            reads.put("Tomcat getRequestedSessionId", id == null ? null : enc(id));
                        }
                        out.put("status", "ok");
                        out.put("reads", reads);
                    }
                    case "/json" -> {
                        Object doc = MAPPER.readValue(req.getInputStream(), Object.class);
                        out.put("status", "ok");
                        out.put("post", enc(doc));
                    }
                    default -> {
                        req.setCharacterEncoding("UTF-8");
                        Map<String, List<String>> params = new LinkedHashMap<>();
                        for (Map.Entry<String, String[]> e : req.getParameterMap().entrySet()) {
                            params.put(e.getKey(), List.of(e.getValue()));
                        }
                        List<String> files = new ArrayList<>();
                        String ct = req.getContentType();
                        if (ct != null && ct.toLowerCase().startsWith("multipart/form-data")) {
                            for (Part p : req.getParts()) {
                                if (p.getSubmittedFileName() != null) {
                                    files.add(hex(p.getName()));
                                }
                            }
                        }
                        out.put("status", "ok");
                        out.put("post", enc(params));
                        // The query's values are in the parameters, before
                        // the body's: nothing to read from it apart.
                        out.put("query", enc(new LinkedHashMap<>()));
                        out.put("files", files);
                    }
                }
            } catch (Exception e) {
                out.clear();
                out.put("status", "error");
                out.put("detail", e.getClass().getName());
            }
            resp.setContentType("application/json");
            resp.setCharacterEncoding("UTF-8");
            resp.getWriter().write(MAPPER.writeValueAsString(out));
        }
    }

    // The path-routing differential's login servlet, mapped to /api/login
    // exactly: whatever request Tomcat maps to it answers the marker and the
    // user getParameter reads.
    public static class Login extends HttpServlet {
        @Override
        protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            resp.setContentType("text/plain");
            String user = req.getParameter("username");
            resp.getWriter().write("login-route-reached tomcat user=" + (user == null ? "" : user));
        }
    }

    public static void main(String[] args) throws Exception {
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(System.getProperty("java.io.tmpdir"));
        Connector conn = new Connector();
        conn.setPort(Integer.parseInt(args[0]));
        conn.setProperty("address", "127.0.0.1");
        tomcat.setConnector(conn);
        Context ctx = tomcat.addContext("", null);
        Wrapper w = Tomcat.addServlet(ctx, "reader", new Reader());
        // Spring Boot's multipart resolver reads parts through the
        // servlet's multipart support, as here.
        w.setMultipartConfigElement(new MultipartConfigElement(""));
        ctx.addServletMappingDecoded("/*", "reader");
        Tomcat.addServlet(ctx, "login", new Login());
        ctx.addServletMappingDecoded("/api/login", "login");
        tomcat.start();
        tomcat.getServer().await();
    }
}
