import { HomeView } from "@/components/home-view";

export default function HomePage() {
  return <HomeView />;
}
