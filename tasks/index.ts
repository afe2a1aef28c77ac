export {};
import "./treasury";
import "./agent";
import "./intent";
import "./guardian";
import "./owners";
import "./monitor";
